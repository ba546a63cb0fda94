// quarantine.hpp: moving a file that cannot be used aside, with the reason next to it.
//
// Nothing is ever silently deleted: an entry that does not parse, a stray "deploy.json", a
// symbolic link or a FIFO dropped into a queue is moved to a quarantine folder (rejected/,
// failed/) with "<name>.reason" beside it, where an operator can read why and act.
//
// Order: the reason is published first (durable), then the file is moved (move_entry). A crash
// in between leaves the reason in the quarantine folder and the file where it was; the consumer
// meets the file again and re-runs quarantine, which reuses the reason already there. So a file
// is never in the quarantine folder without its reason, and never lost.
#pragma once

#include <filesystem>
#include <string_view>
#include <system_error>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"

namespace queue_layout {

/// Publishes `reason` (plus a newline) as `to_dir/<name>.reason`, then moves `from_dir/name` to
/// `to_dir/name`. `name` may be any single path component (is_plain_component): strays with odd
/// names and non-regular files are moved as the directory entry itself, never followed or opened
/// (a directory, which cannot be hard-linked, is renamed without replacing). Returns 0 once both
/// are durable in `to_dir`. std::errc::file_exists if `to_dir` already holds a different file of
/// that name (nothing is replaced; the file stays where it was).
std::error_code quarantine(const std::filesystem::path& from_dir,
                           const std::filesystem::path& to_dir, std::string_view name,
                           std::string_view reason, FileSystem& fs = real_fs());

}  // namespace queue_layout
