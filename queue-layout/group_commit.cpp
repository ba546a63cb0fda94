// group_commit.cpp: see group_commit.hpp.
#include "queue-layout/group_commit.hpp"

#include <fcntl.h>
#include <sys/stat.h>

namespace queue_layout {

GroupCommit::GroupCommit(std::filesystem::path source, FileSystem& fs)
    : inbox_(std::move(source)), fs_(fs) {}

std::error_code GroupCommit::inbox_fd(int& fd) {
  // Opened once per batch, not kept across batches: a folder replaced meanwhile is picked up.
  if (!inbox_fd_) {
    if (const auto ec = open_dir(inbox_, inbox_fd_, fs_)) return ec;
  }
  fd = inbox_fd_.get();
  return {};
}

std::error_code GroupCommit::folder_fd(const std::filesystem::path& dir, int& fd) {
  auto it = queues_.find(dir);
  if (it == queues_.end()) {
    UniqueFd opened;
    if (const auto ec = open_dir(dir, opened, fs_)) return ec;
    it = queues_.emplace(dir, std::move(opened)).first;
  }
  fd = it->second.get();
  return {};
}

std::error_code GroupCommit::sync_later(const std::filesystem::path& dir) {
  int fd = -1;
  return folder_fd(dir, fd);
}

std::error_code GroupCommit::link(const std::filesystem::path& queue_dir, const std::string& name) {
  int from = -1;
  if (const auto ec = inbox_fd(from)) return ec;
  int to = -1;
  if (const auto ec = folder_fd(queue_dir, to)) return ec;
  std::error_code ec = fs_.link(from, name.c_str(), to, name.c_str());
  if (ec == std::errc::file_exists) {
    // Harmless only when it is this very file (an earlier run linked it); anything else is a
    // different entry that must never be replaced or mistaken for ours.
    struct ::stat source {};
    struct ::stat target {};
    if (const auto e = fs_.stat(from, name.c_str(), source, AT_SYMLINK_NOFOLLOW)) return e;
    if (const auto e = fs_.stat(to, name.c_str(), target, AT_SYMLINK_NOFOLLOW)) return e;
    if (source.st_dev != target.st_dev || source.st_ino != target.st_ino) return ec;
    ec.clear();
  }
  return ec;
}

std::error_code GroupCommit::commit() {
  std::error_code result;
  // 1. The new names first: after a crash that undid a link whose inbox entry was already
  //    removed, the entry would be in no folder at all.
  for (auto& [dir, fd] : queues_) {
    if ((result = fs_.fsync(fd.get()))) break;
  }
  // 2. and 3. Only then leave the inbox, durably: a removal the kernel forgot would bring the
  //    entry back after a crash and route it a second time (harmless, but not "exactly once"
  //    in the log and the ledger).
  if (!result && !removals_.empty()) {
    int fd = -1;
    result = inbox_fd(fd);
    for (std::size_t i = 0; !result && i < removals_.size(); ++i) {
      result = fs_.unlink(fd, removals_[i].c_str(), 0);
      if (result == std::errc::no_such_file_or_directory) result.clear();  // removed already
    }
    if (!result) result = fs_.fsync(fd);
  }
  reset();
  return result;
}

void GroupCommit::reset() {
  queues_.clear();
  removals_.clear();
  inbox_fd_.reset();
}

}  // namespace queue_layout
