// publish.cpp: the atomic publish protocol (see publish.hpp for the contract).
#include "queue-layout/publish.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "queue-layout/dir.hpp"
#include "queue-layout/errors.hpp"

namespace queue_layout {
namespace {

bool is_publish_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::error_code write_all(FileSystem& fs, int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    std::size_t written = 0;
    const std::error_code ec = fs.write(fd, bytes.data() + done, bytes.size() - done, written);
    if (ec == std::errc::interrupted) continue;
    if (ec) return ec;
    // write(2) of a regular file returning 0 would loop forever: report it as an I/O error.
    if (written == 0) return std::make_error_code(std::errc::io_error);
    done += written;
  }
  return {};
}

/// Moves the complete temporary to its final name without ever replacing an existing file.
std::error_code install(FileSystem& fs, int dirfd, const char* tmp, const char* name) {
  std::error_code ec = fs.rename_noreplace(dirfd, tmp, dirfd, name);
  if (ec != std::errc::invalid_argument && ec != std::errc::function_not_supported) return ec;
  // The filesystem lacks RENAME_NOREPLACE. link(2) also refuses to replace (EEXIST); the
  // temporary's name is then dropped. Should that unlink fail, the entry is still published
  // and the leftover temporary is only a second name of the same complete file, removed by
  // remove_stale_temporaries: failing here would make the caller publish the entry twice.
  ec = fs.link(dirfd, tmp, dirfd, name);
  if (!ec) (void)fs.unlink(dirfd, tmp, 0);
  return ec;
}

}  // namespace

bool is_publish_name(std::string_view name) {
  return !name.empty() && name.size() <= 200 && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), is_publish_char);
}

std::string temporary_name(std::string_view name) {
  // Appended piece by piece: `"." + std::string(...)` trips g++ 12's -Wrestrict false positive.
  std::string temp;
  temp.reserve(name.size() + 16);
  temp.append(".").append(name).append(".").append(std::to_string(::getpid())).append(".tmp");
  return temp;
}

std::error_code publish(const std::filesystem::path& dir, std::string_view name,
                        std::string_view bytes, FileSystem& fs) {
  if (!is_publish_name(name)) return make_error_code(errc::invalid_name);
  return detail::publish_component(dir, name, bytes, fs);
}

namespace detail {

std::error_code publish_component(const std::filesystem::path& dir, std::string_view name,
                                  std::string_view bytes, FileSystem& fs) {
  if (!is_plain_component(name)) return make_error_code(errc::invalid_name);
  const std::string final_name(name);
  const std::string tmp = temporary_name(name);

  UniqueFd dirfd;
  if (const auto ec = open_dir(dir, dirfd, fs)) return ec;

  // O_EXCL: never write into a file someone else has open; a leftover is reported, not reused.
  int fd = -1;
  std::error_code ec =
      fs.open(dirfd.get(), tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600, fd);
  if (ec == std::errc::file_exists) return make_error_code(errc::temporary_exists);
  if (ec) return ec;

  ec = write_all(fs, fd, bytes);
  // The data must be on disk before the name is: ext4 may otherwise commit the rename first,
  // and a crash would leave a canonical name over an empty or partial file.
  if (!ec) ec = fs.fsync(fd);
  // close(2) can report a deferred write error (NFS, quotas): a file whose close failed is not
  // known to hold our bytes.
  const std::error_code close_ec = fs.close(fd);
  if (!ec) ec = close_ec;
  // Only after the data is durable does the entry get its name; NOREPLACE (or link) so that an
  // existing entry, possibly already being read, is never replaced.
  if (!ec) ec = install(fs, dirfd.get(), tmp.c_str(), final_name.c_str());
  if (ec) {
    // Leave nothing half written behind. If this unlink fails too, the dot-temporary is still
    // invisible to readers and is removed by remove_stale_temporaries.
    (void)fs.unlink(dirfd.get(), tmp.c_str(), 0);
    return ec;
  }
  // The rename lives in the folder's data: until the folder is fsynced a crash can forget it,
  // and an acknowledged entry would vanish.
  return fs.fsync(dirfd.get());
}

}  // namespace detail
}  // namespace queue_layout
