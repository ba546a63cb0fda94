// release_layout.hpp: the folders of a deployment in release mode, and the few file-system
// operations whose order makes a release deploy safe under kill -9 (the deployer writes, deployctl
// reads).
//
//   <root>/repo.git/            bare repository: every release's git objects, fetched once
//   <root>/releases/<name>/     one checkout per release; <name> sorts by creation
//   <root>/releases/<name>/REVISION   the full commit id, written LAST (see below)
//   <root>/current -> releases/<name>   the live release (a relative symbolic link)
//   <root>/shared/<entry>       files and folders linked into every release
//
// Invariants the deployer keeps:
// - A release folder holds REVISION only once it is complete (checked out, shared entries linked,
//   steps and preflight passed) and durable (syncfs): REVISION is the completeness marker. A
//   folder without it is the remains of an interrupted or failed build and is removed by the next
//   deploy's clean_incomplete().
// - `current` only ever points at a folder holding REVISION, and it changes by one rename(2) of a
//   new symbolic link over it, followed by an fsync of <root>: at every instant it names the old
//   or the new release, never nothing and never a partial one.
// - Removing a release first renames it to releases/.trash-<name> (one rename), so a crash
//   half way through the removal never leaves a partial folder under a release's name.
//
// Functions return std::error_code (or a value and an error); none throws for file-system
// errors. Names passed in are checked with valid_release_name().
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.hpp"

namespace common {

class ReleaseLayout {
 public:
  explicit ReleaseLayout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path repository() const { return root_ / "repo.git"; }
  std::filesystem::path releases() const { return root_ / "releases"; }
  std::filesystem::path current() const { return root_ / "current"; }
  std::filesystem::path shared() const { return root_ / "shared"; }
  std::filesystem::path release(const std::string& name) const { return releases() / name; }

  /// Creates root, releases/ and shared/ when missing (each new folder's parent fsynced).
  std::error_code create() const;

  /// The release `current` names, nullopt when there is no `current` link (a first deploy).
  /// An error when `current` exists but is not a link to releases/<valid name>.
  std::optional<std::string> live(std::error_code& ec) const;

  /// Complete releases (holding REVISION), oldest first.
  std::vector<std::string> complete(std::error_code& ec) const;

  /// The commit a release's REVISION names, "" when it has none (incomplete) or it is unreadable.
  std::string revision(const std::string& name) const;

  /// Removes, except `keep_name`, every folder of releases/ without REVISION, leftover
  /// .trash-* folders and a leftover .current.tmp link: the remains of interrupted runs.
  /// Returns the names of the incomplete releases it removed.
  std::vector<std::string> clean_incomplete(const std::string& keep_name,
                                            std::error_code& ec) const;

  /// Creates releases/<name> (a new, empty folder; EEXIST if it exists).
  std::error_code create_release(const std::string& name) const;

  /// Links each of `entries` into the release: shared/<entry> is created empty when missing
  /// (an empty file when its last component contains a '.', as ".env" or "config.json";
  /// otherwise an empty folder),
  /// whatever the checkout put at that path is removed, and a relative symbolic link to it
  /// takes its place.
  std::error_code link_shared(const std::string& name,
                              const std::vector<std::string>& entries) const;

  /// Makes the release durable (syncfs of its file system), then writes REVISION (`sha` and a
  /// newline) through a temporary file, fsynced, renamed, folder fsynced. From then on the
  /// release counts as complete.
  std::error_code mark_complete(const std::string& name, const std::string& sha) const;

  /// Points `current` at releases/<name>: a new link .current.tmp, rename(2) over `current`,
  /// fsync of root. Refuses (ENOENT) a release without REVISION.
  std::error_code switch_to(const std::string& name) const;

  /// Removes a release: rename to releases/.trash-<name>, fsync releases/, then delete it.
  std::error_code remove(const std::string& name) const;

 private:
  std::filesystem::path root_;
};

/// [0-9]{8}T[0-9]{6}.[0-9]{3}Z-[0-9a-f]{7,64}: what new_release_name() makes.
bool valid_release_name(std::string_view name);

/// "20261206T012345.678Z-<first 12 hex digits of sha>" for `now`, made strictly greater than every
/// name in `existing` (a clock stepped back still sorts the new release last) by moving the time
/// forward a millisecond at a time.
std::string new_release_name(const std::vector<std::string>& existing, const std::string& sha,
                             std::chrono::system_clock::time_point now);

/// The creation time a release name encodes, as "2026-12-06T01:23:45.678Z".
std::string release_created(std::string_view name);

/// The releases retention removes after a successful deploy: all but the newest `keep` of
/// `complete` (oldest first), never `live` nor `previous`.
std::vector<std::string> releases_to_remove(const std::vector<std::string>& complete,
                                            std::size_t keep, const std::string& live,
                                            const std::string& previous);

/// The release a rollback goes to: `to` (a release name, or a commit id or prefix of a complete
/// release's REVISION, the newest such release) or, without `to`, the newest complete release
/// older than `live` that holds another commit. The error says why there is none.
Result<std::string> rollback_target(const ReleaseLayout& layout,
                                    const std::optional<std::string>& to,
                                    const std::optional<std::string>& live);

}  // namespace common
