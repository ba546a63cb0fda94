// group_commit.hpp: one set of fsyncs for a batch of moved entries instead of two per entry.
//
// Routing an entry ends with "link into each target queue, make the links durable, remove the
// entry from the inbox, make the removal durable". Done per entry that is two folder fsyncs
// each (the router's whole cost on a fast ledger). GroupCommit lets the router link and mark
// many entries, then commit() them together:
//   1. fsync every queue folder that received a link,
//   2. only then unlink the marked entries from the inbox,
//   3. fsync the inbox.
// The invariant of queue_layout's move (an entry is durably in its next folder before it leaves
// the previous one) holds for every entry of the batch, because step 2 starts only after step 1
// succeeded. A crash anywhere before step 3 completes leaves the entries in the inbox (and maybe
// already in a queue): the restarted router re-runs them, and every step is idempotent (an
// existing link to the same file counts as done). On a failed commit nothing more is unlinked;
// the entries stay in the inbox and are handled again.
//
// The router moves inbox/ -> queues/ this way; the deployer moves superseded pushes
// queues/<d>/ -> done/<d>/ (the "inbox" below is then the queue). File-system calls go through the
// seam (real_fs() by default).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "queue-layout/dir.hpp"
#include "queue-layout/fs.hpp"

namespace queue_layout {

class GroupCommit {
 public:
  explicit GroupCommit(std::filesystem::path inbox, FileSystem& fs = real_fs());

  /// Hard-links inbox/name into `queue_dir` under the same name, not yet durable. A name already
  /// there that is the same file counts as linked (a re-run); a different file gives
  /// std::errc::file_exists and nothing is changed.
  std::error_code link(const std::filesystem::path& queue_dir, const std::string& name);

  /// Adds `dir` to the folders fsynced in step 1, without linking anything into it: an entry a
  /// crashed earlier run (or a deployer) put there may not be durable yet, and the inbox copy
  /// must not go before it is.
  std::error_code sync_later(const std::filesystem::path& dir);

  /// Marks inbox/name for removal at commit(): the caller has finished everything else about it.
  void remove_later(const std::string& name) { removals_.push_back(name); }

  /// Entries marked since the last commit.
  std::size_t pending() const { return removals_.size(); }

  /// Steps 1-3 of the file comment. Returns 0 when every link and removal is durable. Whatever
  /// happens, the batch is forgotten afterwards (on error its entries are handled again).
  std::error_code commit();

  /// Forgets the batch without committing it: its links stay as they are (not made durable),
  /// its entries stay in the inbox and are handled again.
  void abandon() { reset(); }

 private:
  std::error_code inbox_fd(int& fd);
  /// The descriptor of `dir` among the folders to fsync (opened on first use).
  std::error_code folder_fd(const std::filesystem::path& dir, int& fd);
  void reset();

  std::filesystem::path inbox_;
  FileSystem& fs_;
  UniqueFd inbox_fd_;
  std::map<std::filesystem::path, UniqueFd> queues_;  // linked into, to fsync
  std::vector<std::string> removals_;
};

}  // namespace queue_layout
