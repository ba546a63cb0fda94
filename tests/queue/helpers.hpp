// helpers.hpp: small observations of a queue folder shared by the queue tests.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"

namespace queue_test {

/// Every name in `dir` starting with '.', except "." and "..".
inline std::vector<std::string> dot_files(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.front() == '.') names.push_back(name);
  }
  return names;
}

/// The canonical entries of `dir` (list_entries must succeed).
inline std::vector<std::string> entries(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  if (auto ec = queue_layout::list_entries(dir, listing)) {
    throw std::system_error(ec, "list " + dir.string());
  }
  return listing.entries;
}

/// The bytes of `dir/name` through read_entry ("<error: ...>" when it cannot be read).
inline std::string contents(const std::filesystem::path& dir, const std::string& name) {
  std::string out;
  if (auto ec = queue_layout::read_entry(dir, name, 64 << 20, out))
    return "<error: " + ec.message() + ">";
  return out;
}

}  // namespace queue_test
