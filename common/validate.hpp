// validate.hpp: strict validators for every value that becomes a path, a file name or an argument.
//
// Values from webhooks (delivery ids, refs, shas, repository names) and from the configuration
// (deployment names, branches) reach file names, git's argv and environment variables. Each is
// checked here against a small explicit character set before use; anything else (dots, slashes
// where none belong, shell metacharacters, NUL, non-ASCII) is refused. The checks never allocate
// on success and never throw.
//
// Every rule has two forms: `valid_x(s)` answers yes/no, and `check_x(s)` returns a Result whose
// Error message says which rule failed (e.g. "must not contain \"..\""), without repeating the
// value itself: callers prefix it with the key or header at fault.
#pragma once

#include <string_view>

#include "common/result.hpp"

namespace common {

/// X-GitHub-Delivery: [A-Za-z0-9_-]{1,100} (GitHub sends UUIDs). No dots, no slashes.
Result<void> check_delivery_id(std::string_view s);
bool valid_delivery_id(std::string_view s);

/// X-GitHub-Hook-ID: 1 to 20 decimal digits.
Result<void> check_hook_id(std::string_view s);
bool valid_hook_id(std::string_view s);

/// X-GitHub-Event: [a-z0-9_]{1,64}.
Result<void> check_event_name(std::string_view s);
bool valid_event_name(std::string_view s);

/// A queue entry's file name, `^[0-9]{20}-[A-Za-z0-9_-]{1,100}\.json$`
/// (delegates to queue_layout::is_entry_name, the one definition of the rule).
Result<void> check_entry_name(std::string_view s);
bool valid_entry_name(std::string_view s);

/// A deployment's name, used as a folder name: [A-Za-z0-9][A-Za-z0-9_-]{0,63}.
Result<void> check_deployment_name(std::string_view s);
bool valid_deployment_name(std::string_view s);

/// "owner/name": owner [A-Za-z0-9-]{1,39} not starting with '-';
/// name [A-Za-z0-9._-]{1,100}, not "." or "..".
Result<void> check_repository(std::string_view s);
bool valid_repository(std::string_view s);

/// True when two valid repositories name the same GitHub repository (GitHub compares names
/// case-insensitively: "DUCOMPSOC/DurHack" is "ducompsoc/durhack").
bool same_repository(std::string_view a, std::string_view b);

/// A branch (or tag) name: git check-ref-format's rules restricted to [A-Za-z0-9._/-]:
/// 1-255 characters, no "..", no "//", no "@{", not starting with '-', '/' or '.', not ending
/// with '/', '.' or ".lock", and no path component starting with '.' or ending with ".lock".
Result<void> check_branch(std::string_view s);
bool valid_branch(std::string_view s);

/// "refs/heads/<branch>" or "refs/tags/<tag>", the name following the branch rules.
Result<void> check_ref(std::string_view s);
bool valid_ref(std::string_view s);

/// The value of one hexadecimal digit (either case), -1 for any other character.
int hex_value(char c);

/// A commit id: 40 (SHA-1) or 64 (SHA-256) lowercase hexadecimal digits.
Result<void> check_sha(std::string_view s);
bool valid_sha(std::string_view s);

/// An environment variable's name: [A-Za-z_][A-Za-z0-9_]{0,127}.
Result<void> check_env_name(std::string_view s);
bool valid_env_name(std::string_view s);

/// A deploy step's name, used in log lines and file names: [A-Za-z0-9_.-]{1,64}, not "." or "..".
Result<void> check_step_name(std::string_view s);
bool valid_step_name(std::string_view s);

/// A UTC timestamp as written in entries: YYYY-MM-DDTHH:MM:SS[.fraction of 1-9 digits]Z.
Result<void> check_timestamp(std::string_view s);
bool valid_timestamp(std::string_view s);

}  // namespace common
