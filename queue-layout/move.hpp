// move.hpp: moving an entry between folders so that no crash can lose it.
//
// A move is link(2) into the new folder, fsync of the new folder, unlink(2) from the old folder,
// fsync of the old folder. Why not rename(2)? rename replaces an existing target silently, and a
// move is not re-runnable: after a crash the caller cannot tell "moved" from "lost". With
// link+unlink a crash at any instant leaves the entry in the old folder, in both, or (after the
// unlink) in the new one: never in neither. Both folders must be on one filesystem (EXDEV).
// Re-running a move after a crash is harmless: a target that is already the same file (same
// inode) counts as linked, and a source that is already gone counts as unlinked. The entry keeps
// its name in every folder, and an existing different file is never replaced.
//
// Names here are any single path component (is_plain_component), so stray files with odd names
// can be moved aside too; symbolic links and FIFOs are linked as the directory entry itself,
// never followed or opened.
#pragma once

#include <filesystem>
#include <string_view>
#include <system_error>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"

namespace queue_layout {

/// fsync(2) of a folder: makes the creations, renames and removals of names in it durable.
std::error_code fsync_dir(const std::filesystem::path& dir, FileSystem& fs = real_fs());

/// Adds `name` in `to_dir` as a hard link to `from_dir/name`, then fsyncs `to_dir`.
/// Returns 0 once the new name is durable; `from_dir/name` is untouched. An existing target that
/// is the same inode is success (re-run); a different file there gives std::errc::file_exists.
/// A crash leaves at most an extra name for the same file in `to_dir`.
std::error_code link_entry(const std::filesystem::path& from_dir,
                           const std::filesystem::path& to_dir, std::string_view name,
                           FileSystem& fs = real_fs());

/// link_entry, then unlinks `from_dir/name` (ENOENT is fine: a previous run did it) and fsyncs
/// `from_dir`. Returns 0 once the entry is durably in `to_dir` only. If the source is already
/// gone but the target exists, the move is taken as done by an earlier run (both folders are
/// fsynced again). On error the entry is in `from_dir`, `to_dir` or both: call again to finish.
std::error_code move_entry(const std::filesystem::path& from_dir,
                           const std::filesystem::path& to_dir, std::string_view name,
                           FileSystem& fs = real_fs());

/// Unlinks `dir/name` (ENOENT is success) and fsyncs `dir`: the removal is durable on return.
std::error_code remove_entry(const std::filesystem::path& dir, std::string_view name,
                             FileSystem& fs = real_fs());

}  // namespace queue_layout
