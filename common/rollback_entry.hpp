// rollback_entry.hpp: the queue entry `deployctl rollback` writes, and its reader.
//
//   {"event":"rollback","received_at":"2026-12-06T01:23:45.123456789Z",
//    "payload":{"repository":{"full_name":"ducompsoc/durhack"},
//               "to":"20261206T010203.456Z-3f2c0d4b7a9e",   (optional)
//               "sender":{"login":"alice"}}}
//
// An entry of its own kind (event "rollback", never produced by the receiver or the router,
// which route only pushes) so the deployer takes it through the deployment's queue like any
// other entry, never overlapping a deploy. "to" names the release to go back to: a release
// folder name, or a commit (40/64 hex digits, or a unique prefix of at least 7 of a kept
// release's commit); absent, the kept release before the live one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace common {

struct RollbackRequest {
  std::string repository;         ///< valid_repository
  std::optional<std::string> to;  ///< valid_rollback_target
  std::string requested_by;       ///< sender.login, may be empty
};

/// A release name ([0-9T.Z-] and lowercase hex, 21-85 characters) or 7 to 64 hex digits (any case
/// is refused: commits are lowercase).
bool valid_rollback_target(std::string_view to);

/// The entry text (with trailing "\n"). Throws std::invalid_argument naming a bad argument.
std::string write_rollback_entry(std::string_view repository, const std::optional<std::string>& to,
                                 std::string_view requested_by);

/// Reads a rollback entry's payload; errors name the field ("payload.to: ...").
Result<RollbackRequest> parse_rollback(const nlohmann::json& payload);

}  // namespace common
