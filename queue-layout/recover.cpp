// recover.cpp: remove_stale_temporaries (see recover.hpp).
#include "queue-layout/recover.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>
#include <vector>

#include "queue-layout/dir.hpp"

namespace queue_layout {
namespace {

bool pid_is_dead_or_ours(pid_t pid) {
  if (pid == ::getpid()) return true;
  // EPERM means the process exists but belongs to someone else: alive, keep its file.
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

std::vector<std::string> dot_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return names;
  while (const dirent* d = ::readdir(stream)) {
    if (d->d_name[0] == '.') names.emplace_back(d->d_name);
  }
  ::closedir(stream);
  return names;
}

}  // namespace

std::optional<pid_t> temporary_pid(std::string_view name) {
  constexpr std::string_view suffix = ".tmp";
  if (name.size() < 1 + 1 + 1 + 1 + suffix.size() || name.front() != '.' ||
      !name.ends_with(suffix)) {
    return std::nullopt;
  }
  const std::string_view body = name.substr(1, name.size() - 1 - suffix.size());  // <name>.<pid>
  const std::size_t dot = body.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == body.size()) return std::nullopt;
  const std::string_view digits = body.substr(dot + 1);
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc{} || end != digits.data() + digits.size() || pid <= 0) return std::nullopt;
  return pid;
}

std::size_t remove_stale_temporaries(const std::filesystem::path& dir, FileSystem& fs) {
  UniqueFd dirfd;
  if (open_dir(dir, dirfd, fs)) return 0;
  std::size_t removed = 0;
  for (const auto& name : dot_names(dir)) {
    const auto pid = temporary_pid(name);
    if (!pid || !pid_is_dead_or_ours(*pid)) continue;
    if (!fs.unlink(dirfd.get(), name.c_str(), 0)) ++removed;
  }
  return removed;
}

}  // namespace queue_layout
