// dir.cpp: UniqueFd, open_dir, is_plain_component (see dir.hpp).
#include "queue-layout/dir.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace queue_layout {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

UniqueFd::~UniqueFd() {
  reset();
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::error_code open_dir(const std::filesystem::path& dir, UniqueFd& out, FileSystem& fs) {
  int fd = -1;
  const std::error_code ec =
      fs.open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, fd);
  if (!ec) out.reset(fd);
  return ec;
}

bool is_plain_component(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace queue_layout
