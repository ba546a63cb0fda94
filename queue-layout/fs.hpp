// fs.hpp: THE SEAM. Every call by which the queue changes the disk goes through a FileSystem.
//
// Production code uses real_fs(), a thin wrapper over the *at() system calls. Tests and the
// reliability suite use FaultInjectingFs (tests/support/fault_fs.hpp, in the test-support library
// that no program links), which forwards to another FileSystem, counts and records
// every call, and can make the Nth call (optionally of one kind) fail with a chosen errno such as
// ENOSPC, EIO or EEXIST, so each step of a protocol can be shown to fail safely. Reading (scans,
// read_entry) does not go through the seam: it changes nothing, so there is nothing to break.
//
// Every function returns the errno as an std::error_code (system category); none throws. Paths
// are relative to the directory descriptor `dirfd` (AT_FDCWD for the current directory).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace queue_layout {

/// The kinds of call the queue makes through the seam.
enum class FsOp { open, write, fsync, close, rename, link, unlink, mkdir, stat };

/// "open", "write", ...: for logs and test messages.
std::string_view to_string(FsOp op);

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  /// openat(2). On success `fd` is the new descriptor.
  virtual std::error_code open(int dirfd, const char* name, int flags, mode_t mode, int& fd) = 0;
  /// One write(2): `written` may be less than `size`; EINTR is returned, not retried.
  virtual std::error_code write(int fd, const char* data, std::size_t size,
                                std::size_t& written) = 0;
  /// fsync(2).
  virtual std::error_code fsync(int fd) = 0;
  /// close(2). The descriptor is released even when an error is returned (as on Linux).
  virtual std::error_code close(int fd) = 0;
  /// renameat2(2) with RENAME_NOREPLACE: EEXIST if `to` exists; EINVAL/ENOSYS where unsupported.
  virtual std::error_code rename_noreplace(int from_dirfd, const char* from, int to_dirfd,
                                           const char* to) = 0;
  /// linkat(2) without AT_SYMLINK_FOLLOW: a symbolic link is linked as itself.
  virtual std::error_code link(int from_dirfd, const char* from, int to_dirfd, const char* to) = 0;
  /// unlinkat(2); `flags` may be AT_REMOVEDIR.
  virtual std::error_code unlink(int dirfd, const char* name, int flags) = 0;
  /// mkdirat(2).
  virtual std::error_code mkdir(int dirfd, const char* name, mode_t mode) = 0;
  /// fstatat(2); `flags` usually AT_SYMLINK_NOFOLLOW.
  virtual std::error_code stat(int dirfd, const char* name, struct ::stat& st, int flags) = 0;
};

/// The real system calls.
FileSystem& real_fs();

}  // namespace queue_layout
