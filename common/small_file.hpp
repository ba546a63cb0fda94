// small_file.hpp: reading a whole small file (the configuration, a secret) with a size cap.
//
// The error says what failed in words the caller puts after the file's name: "cannot open: <why>",
// "cannot read: <why>" (a folder gives "Is a directory"), "is larger than <cap>". The file is read
// through one descriptor, to its end, retrying EINTR; nothing past the cap is kept in memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace common {

/// The whole of `file`, or an error when it cannot be read or holds more than `max_bytes`;
/// `cap_text` names the cap in that error ("1 MiB").
Result<std::string> read_small_file(const std::filesystem::path& file, std::size_t max_bytes,
                                    const std::string& cap_text);

}  // namespace common
