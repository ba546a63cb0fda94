// entry.hpp: the entry file (docs/receiver.md "What is written") and the push payload inside it.
//
//   {"id":"72d3...","event":"push","received_at":"2026-...Z","hook_id":"123456","payload":{...}}
//
// write_entry produces the exact bytes the receiver publishes: the GitHub body is embedded
// byte-for-byte (not re-serialised), so what GitHub signed is what lands on disk. parse_entry is
// the one reader every consumer (router, deployer, deployctl) uses; it accepts hand-written
// replays (no id, received_at or hook_id) and returns a clear Error for anything else, never
// throwing on hostile input (documents nested deeper than 512 levels are refused by a pre-scan).
// These functions only build and read text: publishing it durably is queue-layout's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace common {

struct EntryMeta {
  std::optional<std::string> id;           ///< X-GitHub-Delivery (valid_delivery_id)
  std::string event;                       ///< X-GitHub-Event (valid_event_name)
  std::optional<std::string> received_at;  ///< utc_timestamp_ns (valid_timestamp)
  std::optional<std::string> hook_id;      ///< X-GitHub-Hook-ID (valid_hook_id)
};

/// The deepest nesting parse_entry accepts, counting the entry object itself.
inline constexpr std::size_t max_entry_depth = 512;

/// The largest entry file any reader accepts (router, deployer, deployctl): the receiver's body
/// limit (receiver.body_limit_bytes, the payload) plus 64 KiB of room for the envelope (id,
/// event, received_at, hook_id).
constexpr std::size_t max_entry_bytes(std::uint64_t body_limit_bytes) {
  return static_cast<std::size_t>(body_limit_bytes) + 64 * 1024;
}

/// The entry's JSON text followed by "\n". `payload_json` must be a JSON object (the caller
/// checked it, e.g. with parse_json); it is copied verbatim. Absent optional fields are left
/// out. Throws std::invalid_argument if a meta field fails its validator (a programming error:
/// the receiver validates headers before it gets here).
std::string write_entry(const EntryMeta& meta, std::string_view payload_json);

struct Entry {
  EntryMeta meta;
  nlohmann::json payload;  ///< always an object
};

/// Reads an entry. Unknown top-level keys are ignored; "id", "received_at" and "hook_id" may be
/// absent or null. Errors: not JSON (with line and column), nested too deeply, not an object,
/// missing or invalid "event", invalid "id", "received_at" or "hook_id", missing or non-object
/// "payload".
Result<Entry> parse_entry(std::string_view text);

/// What a deployer needs from a push payload.
struct Push {
  std::string ref;         ///< valid_ref: "refs/heads/main" or "refs/tags/v1"
  std::string after;       ///< valid_sha: the commit to deploy (all zeros when deleted)
  std::string before;      ///< valid_sha or empty when absent
  std::string repository;  ///< repository.full_name, valid_repository
  bool deleted = false;
  bool created = false;
  bool forced = false;

  bool is_tag() const;
  /// The branch name for refs/heads/...; empty for tags.
  std::string branch() const;
  /// The tag name for refs/tags/...; empty for branches.
  std::string tag() const;
};

/// Needs "ref", "after" and "repository.full_name"; "before", "deleted", "created" and "forced"
/// are optional but checked when present. Errors name the field ("payload.ref: ...").
Result<Push> parse_push(const nlohmann::json& payload);

/// An operator's replay request as entry text (with trailing "\n"): event "push", no id, a
/// received_at of now, payload {"ref", "after", "repository": {"full_name"}, "replay": true,
/// "sender": {"login": requested_by}}. Throws std::invalid_argument naming the bad argument
/// when repository, ref or sha fail their validators.
std::string write_replay_entry(std::string_view repository, std::string_view ref,
                               std::string_view sha, std::string_view requested_by);

}  // namespace common
