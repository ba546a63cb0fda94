// release_layout.cpp: see release_layout.hpp.
#include "common/release_layout.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>

#include "common/validate.hpp"

namespace common {

namespace {

namespace fs = std::filesystem;

std::error_code errno_code() {
  return {errno, std::generic_category()};
}

// fsync of a folder: makes a rename, link or new entry in it durable.
std::error_code sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_code();
  std::error_code ec;
  if (::fsync(fd) != 0) ec = errno_code();
  ::close(fd);
  return ec;
}

std::error_code make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return sync_dir(dir.parent_path());
  if (errno == EEXIST && fs::is_directory(dir)) return {};
  return errno_code();
}

const std::string trash_prefix = ".trash-";
const std::string current_tmp = ".current.tmp";

}  // namespace

bool valid_release_name(std::string_view name) {
  // 20261206T012345.678Z-abcdef123456
  if (name.size() < 21 + 7 || name.size() > 21 + 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    bool ok = false;
    if (i < 8 || (i > 8 && i < 15) || (i > 15 && i < 19)) {
      ok = c >= '0' && c <= '9';
    } else if (i == 8) {
      ok = c == 'T';
    } else if (i == 15) {
      ok = c == '.';
    } else if (i == 19) {
      ok = c == 'Z';
    } else if (i == 20) {
      ok = c == '-';
    } else {
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    if (!ok) return false;
  }
  return true;
}

std::string new_release_name(const std::vector<std::string>& existing, const std::string& sha,
                             std::chrono::system_clock::time_point now) {
  auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(now);
  // Appended, not "-" + substr: GCC 12 at -O2 warns (-Wrestrict) on the latter, wrongly.
  std::string suffix = "-";
  suffix += sha.substr(0, 12);
  std::string newest;
  for (const auto& name : existing) newest = std::max(newest, name);
  for (;;) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(
        std::chrono::time_point_cast<std::chrono::seconds>(ms));
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[96];  // room for any int in each field, so GCC sees no possible truncation
    const auto millis = ms.time_since_epoch().count() % 1000;
    std::snprintf(text, sizeof text, "%04d%02d%02dT%02d%02d%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    std::string name = text + suffix;
    // Compare the time part only: the same millisecond with a greater sha would sort after, but
    // a later one must never sort before an existing name.
    if (newest.empty() || name.substr(0, 20) > newest.substr(0, 20)) return name;
    ms += std::chrono::milliseconds(1);
  }
}

std::string release_created(std::string_view name) {
  if (name.size() < 20) return "";
  std::string out;
  out += name.substr(0, 4);
  out += '-';
  out += name.substr(4, 2);
  out += '-';
  out += name.substr(6, 2);
  out += 'T';
  out += name.substr(9, 2);
  out += ':';
  out += name.substr(11, 2);
  out += ':';
  out += name.substr(13, 2);
  out += name.substr(15, 5);  // ".678Z"
  return out;
}

std::vector<std::string> releases_to_remove(const std::vector<std::string>& complete,
                                            std::size_t keep, const std::string& live,
                                            const std::string& previous) {
  std::vector<std::string> out;
  if (complete.size() <= keep) return out;
  const std::size_t surplus = complete.size() - keep;
  for (std::size_t i = 0; i < surplus; ++i) {
    if (complete[i] == live || complete[i] == previous) continue;
    out.push_back(complete[i]);
  }
  return out;
}

std::error_code ReleaseLayout::create() const {
  std::error_code ec;
  fs::create_directories(root_.parent_path(), ec);
  if (ec) return ec;
  for (const auto& dir : {root_, releases(), shared()}) {
    if (auto error = make_dir(dir)) return error;
  }
  return {};
}

std::optional<std::string> ReleaseLayout::live(std::error_code& ec) const {
  ec.clear();
  std::error_code status_ec;
  const auto status = fs::symlink_status(current(), status_ec);
  if (status.type() == fs::file_type::not_found) return std::nullopt;
  if (status.type() != fs::file_type::symlink) {
    ec = std::make_error_code(std::errc::not_a_directory);
    return std::nullopt;
  }
  const auto target = fs::read_symlink(current(), ec);
  if (ec) return std::nullopt;
  const auto name = target.filename().string();
  if (target.parent_path() != "releases" || !valid_release_name(name)) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return std::nullopt;
  }
  return name;
}

std::vector<std::string> ReleaseLayout::complete(std::error_code& ec) const {
  std::vector<std::string> out;
  for (const auto& item : fs::directory_iterator(releases(), ec)) {
    const auto name = item.path().filename().string();
    if (!valid_release_name(name)) continue;
    std::error_code file_ec;
    if (fs::is_regular_file(item.path() / "REVISION", file_ec)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReleaseLayout::revision(const std::string& name) const {
  if (!valid_release_name(name)) return "";
  std::ifstream in(release(name) / "REVISION");
  std::string line;
  if (!in || !std::getline(in, line) || !common::valid_sha(line)) return "";
  return line;
}

std::vector<std::string> ReleaseLayout::clean_incomplete(const std::string& keep_name,
                                                         std::error_code& ec) const {
  std::vector<std::string> removed;
  std::vector<fs::path> doomed;
  for (const auto& item : fs::directory_iterator(releases(), ec)) {
    const auto name = item.path().filename().string();
    if (name == keep_name) continue;
    if (name.starts_with(trash_prefix)) {
      doomed.push_back(item.path());
    } else if (valid_release_name(name) && revision(name).empty()) {
      removed.push_back(name);
    }
  }
  if (ec) return removed;
  for (const auto& name : removed) {
    if (auto error = remove(name)) ec = error;
  }
  for (const auto& path : doomed) {
    std::error_code remove_ec;
    fs::remove_all(path, remove_ec);
    if (remove_ec) ec = remove_ec;
  }
  std::error_code tmp_ec;
  fs::remove(root_ / current_tmp, tmp_ec);
  return removed;
}

std::error_code ReleaseLayout::create_release(const std::string& name) const {
  if (!valid_release_name(name)) return std::make_error_code(std::errc::invalid_argument);
  if (::mkdir(release(name).c_str(), 0755) != 0) return errno_code();
  return sync_dir(releases());
}

std::error_code ReleaseLayout::link_shared(const std::string& name,
                                           const std::vector<std::string>& entries) const {
  const fs::path dir = release(name);
  for (const auto& entry : entries) {
    const fs::path target = shared() / entry;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(target, ec))) {
      fs::create_directories(target.parent_path(), ec);
      if (ec) return ec;
      if (target.filename().string().find('.') != std::string::npos) {
        int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0 && errno != EEXIST) return errno_code();
        if (fd >= 0) ::close(fd);
      } else {
        fs::create_directory(target, ec);
        if (ec) return ec;
      }
    }
    const fs::path link = dir / entry;
    fs::create_directories(link.parent_path(), ec);
    if (ec) return ec;
    // What the commit has at that path (a default .env, an empty uploads/ with a .gitkeep) gives
    // way to the shared one.
    fs::remove_all(link, ec);
    if (ec) return ec;
    // Relative, so the release keeps working if the whole root is moved or bind-mounted.
    fs::create_symlink(target.lexically_relative(link.parent_path()), link, ec);
    if (ec) return ec;
  }
  return {};
}

std::error_code ReleaseLayout::mark_complete(const std::string& name,
                                             const std::string& sha) const {
  const fs::path dir = release(name);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return errno_code();
  // Everything the checkout and the steps wrote must be on disk before REVISION says the release
  // is complete (and before `current` can point at it): one syncfs instead of an fsync per file.
  std::error_code ec;
  if (::syncfs(dir_fd) != 0) ec = errno_code();
  ::close(dir_fd);
  if (ec) return ec;
  const fs::path tmp = dir / ".REVISION.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno_code();
  const std::string text = sha + "\n";
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    ec = errno != 0 ? errno_code() : std::make_error_code(std::errc::io_error);
  }
  if (!ec && ::fsync(fd) != 0) ec = errno_code();
  if (::close(fd) != 0 && !ec) ec = errno_code();
  if (ec) return ec;
  if (::rename(tmp.c_str(), (dir / "REVISION").c_str()) != 0) return errno_code();
  return sync_dir(dir);
}

std::error_code ReleaseLayout::switch_to(const std::string& name) const {
  if (!valid_release_name(name)) return std::make_error_code(std::errc::invalid_argument);
  if (revision(name).empty()) return std::make_error_code(std::errc::no_such_file_or_directory);
  const fs::path tmp = root_ / current_tmp;
  ::unlink(tmp.c_str());  // left by a crash between symlink and rename
  const std::string target = "releases/" + name;
  if (::symlink(target.c_str(), tmp.c_str()) != 0) return errno_code();
  // rename(2) replaces `current` atomically: a reader (nginx, PM2, a shell) resolves the old
  // release or the new one, never a missing link.
  if (::rename(tmp.c_str(), current().c_str()) != 0) {
    auto ec = errno_code();
    ::unlink(tmp.c_str());
    return ec;
  }
  // Without this fsync a power loss could bring back the old link after the deploy was
  // recorded as switched.
  return sync_dir(root_);
}

std::error_code ReleaseLayout::remove(const std::string& name) const {
  if (!valid_release_name(name)) return std::make_error_code(std::errc::invalid_argument);
  const fs::path trash = releases() / (trash_prefix + name);
  // One rename takes the release's name away first: a crash during the (long) removal leaves a
  // .trash- folder for clean_incomplete(), never half a release under a release's name.
  if (::rename(release(name).c_str(), trash.c_str()) != 0) return errno_code();
  if (auto ec = sync_dir(releases())) return ec;
  std::error_code ec;
  fs::remove_all(trash, ec);
  return ec;
}

Result<std::string> rollback_target(const ReleaseLayout& layout,
                                    const std::optional<std::string>& to,
                                    const std::optional<std::string>& live) {
  std::error_code ec;
  const auto complete = layout.complete(ec);
  if (ec) return Error{"cannot list " + layout.releases().string() + ": " + ec.message()};
  if (!to) {
    if (!live) return Error{"there is no live release to roll back from"};
    // The newest older release with another commit: one holding the live commit (a release an
    // interrupted deploy completed, then built again) would change nothing.
    const std::string live_sha = layout.revision(*live);
    std::optional<std::string> before;
    for (const auto& name : complete) {
      if (name < *live && layout.revision(name) != live_sha) before = name;
    }
    if (!before) return Error{"no kept release is older than the live one " + *live};
    return *before;
  }
  if (common::valid_release_name(*to)) {
    if (std::find(complete.begin(), complete.end(), *to) == complete.end()) {
      return Error{"release " + *to + " is not a kept, complete release"};
    }
    return *to;
  }
  // A commit: the newest complete release whose REVISION starts with it; a prefix naming two
  // different commits is ambiguous.
  std::optional<std::string> found;
  std::string found_sha;
  for (const auto& name : complete) {
    const auto sha = layout.revision(name);
    if (!sha.starts_with(*to)) continue;
    if (found && sha != found_sha) {
      return Error{"commit " + *to + " is ambiguous: releases " + *found + " and " + name};
    }
    found = name;
    found_sha = sha;
  }
  if (!found) return Error{"no kept release holds commit " + *to};
  return *found;
}

}  // namespace common
