// scan.cpp: list_entries and classify (see scan.hpp).
#include "queue-layout/scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "queue-layout/dir.hpp"
#include "queue-layout/errors.hpp"
#include "queue-layout/name.hpp"

namespace queue_layout {

NameKind classify(std::string_view name) {
  if (name.empty() || name.front() == '.') return NameKind::ignored;
  if (is_entry_name(name)) return NameKind::entry;
  // "*.tmp", "*~", "*.swp" and "*.reason" do not end in ".json": only sidecars need a rule.
  if (!name.ends_with(".json") || name.ends_with(".error.json")) return NameKind::ignored;
  return NameKind::stray;
}

std::error_code list_entries(const std::filesystem::path& dir, Listing& out) {
  out = Listing{};
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_errno();
  DIR* stream = ::fdopendir(fd);
  if (stream == nullptr) {
    const std::error_code ec = last_errno();
    ::close(fd);
    return ec;
  }
  Listing listing;
  std::error_code ec;
  for (;;) {
    errno = 0;
    const dirent* d = ::readdir(stream);
    if (d == nullptr) {
      if (errno != 0) ec = last_errno();
      break;
    }
    const std::string_view name(d->d_name);
    switch (classify(name)) {
      case NameKind::entry:
        listing.entries.emplace_back(name);
        break;
      case NameKind::stray:
        listing.strays.emplace_back(name);
        break;
      case NameKind::ignored:
        break;
    }
  }
  ::closedir(stream);
  if (ec) return ec;
  // Byte order of the names is arrival order (name.hpp); std::string compares bytewise.
  std::sort(listing.entries.begin(), listing.entries.end());
  std::sort(listing.strays.begin(), listing.strays.end());
  out = std::move(listing);
  return {};
}

bool exists(const std::filesystem::path& dir, std::string_view name) {
  if (!is_plain_component(name)) return false;
  struct ::stat st {};
  const std::string path = (dir / std::string(name)).string();
  return ::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

}  // namespace queue_layout
