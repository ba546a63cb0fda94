// release_types.hpp: what the ledger stores about release mode (migration 0003): releases,
// switches of `current`, rollbacks. Included by ledger.hpp; to_string() gives the exact text the
// database's CHECK constraints allow.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/ledger/types.hpp"

namespace ledger {

/// How the deploy of one release ended (so far).
///   building     checked out, steps or preflight running (or interrupted)
///   ready        complete (REVISION written), not yet switched to
///   deployed     switched to and verified: it was (or is) the good live release
///   failed       its build or preflight failed, or it was never switched to: folder removed
///   rolled_back  switched to, then an activate step or the health check failed and `current`
///                went back: folder removed
enum class ReleaseOutcome { building, ready, deployed, failed, rolled_back };

/// Why `current` moved: a deploy, the revert of a deploy that did not pass, an operator rollback.
enum class SwitchReason { deploy, revert, rollback };

/// Who rolled back: the deployer after a failed activate/health check, or an operator.
enum class RollbackKind { automatic, operator_ };

std::string_view to_string(ReleaseOutcome value);
std::string_view to_string(SwitchReason value);
std::string_view to_string(RollbackKind value);  // "automatic" | "operator"
ReleaseOutcome parse_release_outcome(std::string_view text);

/// One row of `releases`.
struct Release {
  std::string deployment;
  std::string name;
  std::string sha;
  std::optional<RunId> run;
  ReleaseOutcome outcome = ReleaseOutcome::building;
  std::string reason;
  Time created_at{};
  Time updated_at{};
  std::optional<Time> removed_at;
};

/// One row of `rollbacks` (input of record_rollback).
struct RollbackRecord {
  std::string deployment;
  std::optional<RunId> run;
  RollbackKind kind = RollbackKind::automatic;
  std::optional<std::string> from_sha;
  std::string to_sha;
  std::optional<std::string> from_release;
  std::optional<std::string> to_release;
  std::optional<std::string> high_water_sha;  // operator rollbacks: see deployed_state()
  std::string reason;
};

/// What the staleness rule compares a webhook push with.
struct DeployedState {
  std::optional<std::string> sha;  ///< the commit of the newest successful run
  /// Set when that run was an operator's rollback: the commit that still counts as deployed
  /// (the rolled-back-from one); only its strict descendants deploy from webhook pushes.
  std::optional<std::string> high_water_sha;
};

}  // namespace ledger
