// read.cpp: read_entry, entry_mtime, entry_age, describe (see read.hpp).
#include "queue-layout/read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "queue-layout/dir.hpp"
#include "queue-layout/errors.hpp"

namespace queue_layout {
namespace {

std::error_code stat_entry(const std::filesystem::path& dir, std::string_view name,
                           struct ::stat& st) {
  if (!is_plain_component(name)) return make_error_code(errc::invalid_name);
  const std::string path = (dir / std::string(name)).string();
  if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return last_errno();
  return {};
}

}  // namespace

std::error_code read_entry(const std::filesystem::path& dir, std::string_view name,
                           std::size_t max_bytes, std::string& out) {
  out.clear();
  if (!is_plain_component(name)) return make_error_code(errc::invalid_name);
  const std::string path = (dir / std::string(name)).string();
  // O_NOFOLLOW: a symbolic link fails with ELOOP instead of being read through.
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of hanging the consumer.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return last_errno();
  // Checked on the descriptor, not the name: the name could be swapped after a stat.
  struct ::stat st {};
  if (::fstat(fd.get(), &st) != 0) return last_errno();
  if (S_ISDIR(st.st_mode)) return std::make_error_code(std::errc::is_a_directory);
  if (!S_ISREG(st.st_mode)) return make_error_code(errc::not_a_regular_file);
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return std::make_error_code(std::errc::file_too_large);
  }
  // Read up to one byte past the limit, to end of file rather than just st_size: a file still
  // growing is refused by the bound instead of being cut short silently.
  const std::size_t limit = max_bytes < SIZE_MAX ? max_bytes + 1 : max_bytes;
  std::string data(std::min(static_cast<std::size_t>(st.st_size) + 1, limit), '\0');
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_errno();
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
    if (done == data.size() && data.size() < limit) {
      data.resize(std::min(limit, data.size() * 2));
    }
  }
  if (done > max_bytes) return std::make_error_code(std::errc::file_too_large);
  data.resize(done);
  out = std::move(data);
  return {};
}

std::error_code entry_mtime(const std::filesystem::path& dir, std::string_view name,
                            std::chrono::system_clock::time_point& out) {
  struct ::stat st {};
  if (const auto ec = stat_entry(dir, name, st)) return ec;
  const auto since_epoch =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  out = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
  return {};
}

std::error_code entry_age(const std::filesystem::path& dir, std::string_view name,
                          std::chrono::nanoseconds& out) {
  std::chrono::system_clock::time_point mtime;
  if (const auto ec = entry_mtime(dir, name, mtime)) return ec;
  const auto age = std::chrono::system_clock::now() - mtime;
  out = age.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(age)
                        : std::chrono::nanoseconds(0);
  return {};
}

std::string describe(const std::error_code& ec, std::size_t max_bytes) {
  if (!ec) return "ok";
  if (ec == std::errc::too_many_symbolic_link_levels) return "is a symbolic link";
  if (ec == std::errc::is_a_directory) return "is a directory";
  if (ec == errc::not_a_regular_file) return "is not a regular file";
  if (ec == errc::invalid_name) return "has a name outside the allowed character set";
  if (ec == std::errc::no_such_file_or_directory) return "does not exist";
  if (ec == std::errc::file_too_large) {
    return max_bytes != 0 ? "larger than " + std::to_string(max_bytes) + " bytes"
                          : "larger than the size limit";
  }
  return ec.message();
}

}  // namespace queue_layout
