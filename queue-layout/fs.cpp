// fs.cpp: real_fs(), the FileSystem that performs the system calls (see fs.hpp).
#include "queue-layout/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>  // renameat2, RENAME_NOREPLACE (glibc >= 2.28, _GNU_SOURCE)

#include "queue-layout/errors.hpp"

namespace queue_layout {
namespace {

std::error_code result(int rc) {
  return rc == 0 ? std::error_code{} : last_errno();
}

class RealFs final : public FileSystem {
 public:
  std::error_code open(int dirfd, const char* name, int flags, mode_t mode, int& fd) override {
    fd = ::openat(dirfd, name, flags, mode);
    return fd >= 0 ? std::error_code{} : last_errno();
  }
  std::error_code write(int fd, const char* data, std::size_t size, std::size_t& written) override {
    const ssize_t n = ::write(fd, data, size);
    written = n > 0 ? static_cast<std::size_t>(n) : 0;
    return n >= 0 ? std::error_code{} : last_errno();
  }
  std::error_code fsync(int fd) override { return result(::fsync(fd)); }
  std::error_code close(int fd) override { return result(::close(fd)); }
  std::error_code rename_noreplace(int from_dirfd, const char* from, int to_dirfd,
                                   const char* to) override {
    return result(::renameat2(from_dirfd, from, to_dirfd, to, RENAME_NOREPLACE));
  }
  std::error_code link(int from_dirfd, const char* from, int to_dirfd, const char* to) override {
    return result(::linkat(from_dirfd, from, to_dirfd, to, 0));
  }
  std::error_code unlink(int dirfd, const char* name, int flags) override {
    return result(::unlinkat(dirfd, name, flags));
  }
  std::error_code mkdir(int dirfd, const char* name, mode_t mode) override {
    return result(::mkdirat(dirfd, name, mode));
  }
  std::error_code stat(int dirfd, const char* name, struct ::stat& st, int flags) override {
    return result(::fstatat(dirfd, name, &st, flags));
  }
};

}  // namespace

std::string_view to_string(FsOp op) {
  switch (op) {
    case FsOp::open:
      return "open";
    case FsOp::write:
      return "write";
    case FsOp::fsync:
      return "fsync";
    case FsOp::close:
      return "close";
    case FsOp::rename:
      return "rename";
    case FsOp::link:
      return "link";
    case FsOp::unlink:
      return "unlink";
    case FsOp::mkdir:
      return "mkdir";
    case FsOp::stat:
      return "stat";
  }
  return "?";
}

FileSystem& real_fs() {
  static RealFs fs;
  return fs;
}

}  // namespace queue_layout
