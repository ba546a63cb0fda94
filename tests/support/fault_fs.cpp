// fault_fs.cpp: FaultInjectingFs, the counting, recording, failing FileSystem (see fault_fs.hpp).
#include "tests/support/fault_fs.hpp"

#include "queue-layout/errors.hpp"

namespace queue_layout {

FaultInjectingFs::FaultInjectingFs(FileSystem& inner) : inner_(inner) {}

void FaultInjectingFs::fail_call(std::size_t nth, int error, std::optional<FsOp> op, bool sticky) {
  std::lock_guard lock(mutex_);
  fault_ = Fault{nth, error, op, sticky};
}

void FaultInjectingFs::clear_fault() {
  std::lock_guard lock(mutex_);
  fault_.reset();
}

void FaultInjectingFs::set_max_write(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  max_write_ = bytes;
}

void FaultInjectingFs::reset() {
  std::lock_guard lock(mutex_);
  fault_.reset();
  total_ = 0;
  per_op_.clear();
  injected_ = 0;
  record_.clear();
}

std::size_t FaultInjectingFs::calls() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::size_t FaultInjectingFs::calls(FsOp op) const {
  std::lock_guard lock(mutex_);
  const auto it = per_op_.find(op);
  return it == per_op_.end() ? 0 : it->second;
}

std::size_t FaultInjectingFs::injected() const {
  std::lock_guard lock(mutex_);
  return injected_;
}

std::vector<FsCall> FaultInjectingFs::record() const {
  std::lock_guard lock(mutex_);
  return record_;
}

int FaultInjectingFs::enter(FsOp op, std::string target) {
  std::lock_guard lock(mutex_);
  ++total_;
  const std::size_t of_kind = ++per_op_[op];
  int error = 0;
  if (fault_ && (!fault_->op || *fault_->op == op)) {
    const std::size_t count = fault_->op ? of_kind : total_;
    if (count == fault_->nth || (fault_->sticky && count > fault_->nth)) error = fault_->error;
  }
  if (error != 0) ++injected_;
  record_.push_back(FsCall{op, std::move(target), error});
  return error;
}

std::string FaultInjectingFs::fd_target(int fd) const {
  std::lock_guard lock(mutex_);
  const auto it = fd_names_.find(fd);
  return it == fd_names_.end() ? "fd " + std::to_string(fd) : it->second;
}

std::error_code FaultInjectingFs::open(int dirfd, const char* name, int flags, mode_t mode,
                                       int& fd) {
  if (const int error = enter(FsOp::open, name)) return errno_code(error);
  const std::error_code ec = inner_.open(dirfd, name, flags, mode, fd);
  if (!ec) {
    std::lock_guard lock(mutex_);
    fd_names_[fd] = name;
  }
  return ec;
}

std::error_code FaultInjectingFs::write(int fd, const char* data, std::size_t size,
                                        std::size_t& written) {
  written = 0;
  if (const int error = enter(FsOp::write, fd_target(fd))) return errno_code(error);
  std::size_t cap = 0;
  {
    std::lock_guard lock(mutex_);
    cap = max_write_;
  }
  return inner_.write(fd, data, cap != 0 && size > cap ? cap : size, written);
}

std::error_code FaultInjectingFs::fsync(int fd) {
  if (const int error = enter(FsOp::fsync, fd_target(fd))) return errno_code(error);
  return inner_.fsync(fd);
}

std::error_code FaultInjectingFs::close(int fd) {
  const int error = enter(FsOp::close, fd_target(fd));
  // A failing close(2) still releases the descriptor on Linux: do the same, or the caller,
  // which must not close twice, would leak it.
  const std::error_code ec = inner_.close(fd);
  return error != 0 ? errno_code(error) : ec;
}

std::error_code FaultInjectingFs::rename_noreplace(int from_dirfd, const char* from, int to_dirfd,
                                                   const char* to) {
  if (const int error = enter(FsOp::rename, std::string(from) + " -> " + to)) {
    return errno_code(error);
  }
  return inner_.rename_noreplace(from_dirfd, from, to_dirfd, to);
}

std::error_code FaultInjectingFs::link(int from_dirfd, const char* from, int to_dirfd,
                                       const char* to) {
  if (const int error = enter(FsOp::link, std::string(from) + " -> " + to)) {
    return errno_code(error);
  }
  return inner_.link(from_dirfd, from, to_dirfd, to);
}

std::error_code FaultInjectingFs::unlink(int dirfd, const char* name, int flags) {
  if (const int error = enter(FsOp::unlink, name)) return errno_code(error);
  return inner_.unlink(dirfd, name, flags);
}

std::error_code FaultInjectingFs::mkdir(int dirfd, const char* name, mode_t mode) {
  if (const int error = enter(FsOp::mkdir, name)) return errno_code(error);
  return inner_.mkdir(dirfd, name, mode);
}

std::error_code FaultInjectingFs::stat(int dirfd, const char* name, struct ::stat& st, int flags) {
  if (const int error = enter(FsOp::stat, name)) return errno_code(error);
  return inner_.stat(dirfd, name, st, flags);
}

}  // namespace queue_layout
