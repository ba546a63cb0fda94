// read.hpp: reading one entry file safely, whatever was dropped into the folder.
//
// Queue folders accept hand-dropped files, so an "entry" may be a symbolic link (to /etc/shadow),
// a FIFO (an open would block forever), a directory or a huge file. read_entry opens with
// O_NOFOLLOW|O_NONBLOCK, checks the opened descriptor (not the name, which could be swapped
// between a check and the open) and bounds the size. Reading changes nothing on disk.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "queue-layout/errors.hpp"

namespace queue_layout {

/// Reads `dir/name` whole into `out`. Errors:
///   too_many_symbolic_link_levels (ELOOP)  `name` is a symbolic link (never followed);
///   is_a_directory                          it is a folder;
///   errc::not_a_regular_file                a FIFO, socket or device (never blocks on a FIFO);
///   std::errc::file_too_large               larger than `max_bytes`;
///   errc::invalid_name                      `name` is not a single path component;
///   or the errno of open/read (ENOENT when it is gone).
/// On error `out` is empty.
std::error_code read_entry(const std::filesystem::path& dir, std::string_view name,
                           std::size_t max_bytes, std::string& out);

/// The last-modification time of `dir/name` (symbolic links not followed).
std::error_code entry_mtime(const std::filesystem::path& dir, std::string_view name,
                            std::chrono::system_clock::time_point& out);

/// How long ago `dir/name` was last modified (zero if its mtime is in the future). A
/// hand-dropped file counts as settled once this exceeds the consumer's settle time: `cp` and
/// editors write in several steps.
std::error_code entry_age(const std::filesystem::path& dir, std::string_view name,
                          std::chrono::nanoseconds& out);

/// Words for a reason file or a log line: "is a symbolic link", "is not a regular file",
/// "is a directory", "larger than N bytes" (N = `max_bytes`, when given), "does not exist", or
/// the system's message.
std::string describe(const std::error_code& ec, std::size_t max_bytes = 0);

}  // namespace queue_layout
