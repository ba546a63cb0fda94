// scan.hpp: listing a queue folder, the truth that inotify only hints at.
//
// Readers take only canonical entry names (is_entry_name), in byte order, which is arrival order.
// Other visible "*.json" names are reported as strays, so a consumer can quarantine them with a
// reason rather than ignore them forever (a hand-dropped "deploy.json"). Everything else is
// ignored: dot-files (temporaries being published), "*.tmp", "*~", "*.swp" (editors), and the
// sidecars "<entry>.reason" and "<entry>.error.json". Listing changes nothing on disk.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace queue_layout {

struct Listing {
  std::vector<std::string> entries;  // canonical entry names, sorted bytewise
  std::vector<std::string> strays;   // other visible "*.json" names (not sidecars), sorted
};

/// Reads the folder once. On error `out` is left empty and the error (ENOENT, EACCES, ...)
/// returned. The file types are not checked here: read_entry refuses what is not a regular file.
std::error_code list_entries(const std::filesystem::path& dir, Listing& out);

/// Whether a name (of any type, symbolic links not followed) exists in `dir`.
bool exists(const std::filesystem::path& dir, std::string_view name);

/// How list_entries classifies one name.
enum class NameKind { entry, stray, ignored };
NameKind classify(std::string_view name);

}  // namespace queue_layout
