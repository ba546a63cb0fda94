// dir.hpp: directory descriptors and name checks shared by the queue's operations.
//
// The queue works relative to an open directory descriptor (openat, renameat2, linkat, ...):
// the folder is resolved once, so a protocol's steps all act on the same folder even if its path
// is replaced meanwhile, and the folder itself can be fsynced.
#pragma once

#include <filesystem>
#include <string_view>
#include <system_error>

#include "queue-layout/fs.hpp"

namespace queue_layout {

/// Owns a descriptor; closes it with plain close(2) when destroyed. Used for directory
/// descriptors opened read-only, whose close cannot lose data, so its result is irrelevant.
/// File descriptors that were written are closed through the seam and checked instead.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  /// Gives up ownership without closing.
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// Opens `dir` as O_RDONLY|O_DIRECTORY|O_CLOEXEC through `fs` (ENOTDIR if it is not a folder).
std::error_code open_dir(const std::filesystem::path& dir, UniqueFd& out, FileSystem& fs);

/// A single path component the kernel could return from readdir: non-empty, at most 255 bytes,
/// no '/', no NUL, not "." or "..". What move/remove/quarantine accept, so a stray file with an
/// odd name can still be moved aside, while nothing can escape the folder.
bool is_plain_component(std::string_view name);

}  // namespace queue_layout
