// move.cpp: link_entry, move_entry, remove_entry, fsync_dir (see move.hpp for the protocol).
#include "queue-layout/move.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "queue-layout/dir.hpp"
#include "queue-layout/errors.hpp"

namespace queue_layout {
namespace {

bool same_file(const struct ::stat& a, const struct ::stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/// linkat from_fd/name -> to_fd/name; an existing target that is the same inode counts as done.
std::error_code link_in(int from_fd, int to_fd, const char* name, FileSystem& fs) {
  std::error_code ec = fs.link(from_fd, name, to_fd, name);
  if (ec == std::errc::file_exists) {
    // A previous run may have linked it already: only then is EEXIST harmless. Anything else
    // in the target is a different entry, which must never be replaced or mistaken for ours.
    struct ::stat source {};
    struct ::stat target {};
    if (const auto e = fs.stat(from_fd, name, source, AT_SYMLINK_NOFOLLOW)) return e;
    if (const auto e = fs.stat(to_fd, name, target, AT_SYMLINK_NOFOLLOW)) return e;
    if (!same_file(source, target)) return std::make_error_code(std::errc::file_exists);
    ec.clear();
  }
  return ec;
}

struct DirPair {
  UniqueFd from;
  UniqueFd to;
};

std::error_code open_pair(const std::filesystem::path& from_dir,
                          const std::filesystem::path& to_dir, DirPair& dirs, FileSystem& fs) {
  if (const auto ec = open_dir(from_dir, dirs.from, fs)) return ec;
  return open_dir(to_dir, dirs.to, fs);
}

}  // namespace

std::error_code fsync_dir(const std::filesystem::path& dir, FileSystem& fs) {
  UniqueFd fd;
  if (const auto ec = open_dir(dir, fd, fs)) return ec;
  return fs.fsync(fd.get());
}

std::error_code link_entry(const std::filesystem::path& from_dir,
                           const std::filesystem::path& to_dir, std::string_view name,
                           FileSystem& fs) {
  if (!is_plain_component(name)) return make_error_code(errc::invalid_name);
  const std::string n(name);
  DirPair dirs;
  if (const auto ec = open_pair(from_dir, to_dir, dirs, fs)) return ec;
  if (const auto ec = link_in(dirs.from.get(), dirs.to.get(), n.c_str(), fs)) return ec;
  // The new name must be durable before anyone acts on it (a router acknowledging its inbox
  // entry, a mover unlinking the source): otherwise a crash could undo the link after the
  // source is gone, and the entry would be in no folder at all.
  return fs.fsync(dirs.to.get());
}

std::error_code move_entry(const std::filesystem::path& from_dir,
                           const std::filesystem::path& to_dir, std::string_view name,
                           FileSystem& fs) {
  if (!is_plain_component(name)) return make_error_code(errc::invalid_name);
  const std::string n(name);
  DirPair dirs;
  if (const auto ec = open_pair(from_dir, to_dir, dirs, fs)) return ec;

  std::error_code ec = link_in(dirs.from.get(), dirs.to.get(), n.c_str(), fs);
  if (ec == std::errc::no_such_file_or_directory) {
    // The source is gone. If the target is there, an earlier run got past its unlink: finish
    // by making both folders durable again. If not, the entry really is missing: report it.
    struct ::stat target {};
    if (fs.stat(dirs.to.get(), n.c_str(), target, AT_SYMLINK_NOFOLLOW)) return ec;
    ec.clear();
  }
  if (ec) return ec;
  // Durable in the new folder before it leaves the old one: a crash in between leaves the
  // entry in both folders (re-run finishes the move), never in neither.
  if (const auto e = fs.fsync(dirs.to.get())) return e;
  ec = fs.unlink(dirs.from.get(), n.c_str(), 0);
  if (ec && ec != std::errc::no_such_file_or_directory) return ec;
  // Make the removal durable, or after a crash the entry could reappear in the old folder and
  // be taken a second time (deployed twice, routed twice).
  return fs.fsync(dirs.from.get());
}

std::error_code remove_entry(const std::filesystem::path& dir, std::string_view name,
                             FileSystem& fs) {
  if (!is_plain_component(name)) return make_error_code(errc::invalid_name);
  const std::string n(name);
  UniqueFd fd;
  if (const auto ec = open_dir(dir, fd, fs)) return ec;
  const std::error_code ec = fs.unlink(fd.get(), n.c_str(), 0);
  if (ec && ec != std::errc::no_such_file_or_directory) return ec;
  // Without it a crash could bring the removed name back, and it would be taken again.
  return fs.fsync(fd.get());
}

}  // namespace queue_layout
