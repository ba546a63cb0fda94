// fault_fs.hpp: FaultInjectingFs, the test double of the queue's FileSystem seam
// (queue-layout/fs.hpp). It lives in the test-support library: no program links it.
//
// It forwards to another FileSystem, counts and records every call, and can make the Nth call
// (optionally of one kind) fail with a chosen errno such as ENOSPC, EIO or EEXIST, so each step
// of a protocol can be shown to fail safely.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "queue-layout/fs.hpp"

namespace queue_layout {

/// One call as seen by FaultInjectingFs: its kind, what it named ("name", "from -> to", or for
/// write/fsync/close the name the descriptor was opened with) and the errno injected (0: none).
struct FsCall {
  FsOp op;
  std::string target;
  int injected;
};

/// Wraps another FileSystem; counts, records and fails calls on request. Thread-safe.
class FaultInjectingFs final : public FileSystem {
 public:
  /// To stack two of them, pass the inner one as `static_cast<FileSystem&>(inner)`: a plain
  /// `FaultInjectingFs outer(inner)` would pick the (deleted) copy constructor.
  explicit FaultInjectingFs(FileSystem& inner = real_fs());
  FaultInjectingFs(const FaultInjectingFs&) = delete;
  FaultInjectingFs& operator=(const FaultInjectingFs&) = delete;

  /// Makes the `nth` call (1-based; counting only calls of kind `op` when given) fail with
  /// `error` instead of being performed (a failing close still releases the descriptor).
  /// With `sticky`, every later matching call fails too, like a disk that stays full.
  /// Counting starts from the last reset(). Replaces any fault set before.
  void fail_call(std::size_t nth, int error, std::optional<FsOp> op = std::nullopt,
                 bool sticky = false);
  /// No more faults; counters and record stay.
  void clear_fault();
  /// Caps each write at `bytes` (0: no cap), to exercise short-write handling.
  void set_max_write(std::size_t bytes);
  /// Forgets counters, record and fault.
  void reset();

  std::size_t calls() const;
  std::size_t calls(FsOp op) const;
  std::size_t injected() const;
  std::vector<FsCall> record() const;

  std::error_code open(int dirfd, const char* name, int flags, mode_t mode, int& fd) override;
  std::error_code write(int fd, const char* data, std::size_t size, std::size_t& written) override;
  std::error_code fsync(int fd) override;
  std::error_code close(int fd) override;
  std::error_code rename_noreplace(int from_dirfd, const char* from, int to_dirfd,
                                   const char* to) override;
  std::error_code link(int from_dirfd, const char* from, int to_dirfd, const char* to) override;
  std::error_code unlink(int dirfd, const char* name, int flags) override;
  std::error_code mkdir(int dirfd, const char* name, mode_t mode) override;
  std::error_code stat(int dirfd, const char* name, struct ::stat& st, int flags) override;

 private:
  struct Fault {
    std::size_t nth;
    int error;
    std::optional<FsOp> op;
    bool sticky;
  };
  /// Counts and records the call; returns the errno to inject, or 0 to perform it.
  int enter(FsOp op, std::string target);
  std::string fd_target(int fd) const;

  FileSystem& inner_;
  mutable std::mutex mutex_;
  std::optional<Fault> fault_;
  std::size_t max_write_ = 0;
  std::size_t total_ = 0;
  std::map<FsOp, std::size_t> per_op_;
  std::size_t injected_ = 0;
  std::vector<FsCall> record_;
  std::map<int, std::string> fd_names_;
};

}  // namespace queue_layout
