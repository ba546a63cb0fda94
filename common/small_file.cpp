// small_file.cpp: see small_file.hpp.
#include "common/small_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace common {

Result<std::string> read_small_file(const std::filesystem::path& file, std::size_t max_bytes,
                                    const std::string& cap_text) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{std::string("cannot open: ") + std::strerror(errno)};
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return Error{std::string("cannot read: ") + std::strerror(error)};
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      ::close(fd);
      return Error{"is larger than " + cap_text};
    }
  }
  ::close(fd);  // read-only: nothing a failed close could lose
  return text;
}

}  // namespace common
