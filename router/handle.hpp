// handle.hpp: deciding about one inbox entry and carrying the decision out, crash-safely.
//
// Handler::handle(name) takes one entry from inbox/ to where it belongs:
//   unusable            -> rejected/<name> with rejected/<name>.reason (ledger: rejected, when
//                          the text names a delivery id);
//   ping                -> ledger: ping; removed from the inbox;
//   push, matching      -> hard-linked into queues/<deployment>/ of every matching enabled
//                          deployment that runs on this host (ledger: queue item queued +
//                          delivery routed), and for each other host in a deployment's
//                          "hosts", a fan-out item in the same transaction as the queue items
//                          (router/fanout.hpp delivers it there); removed;
//   push, redelivery of a delivery already queued, running or deployed everywhere it matches
//                       -> ledger: duplicate; removed;
//   check_run, check_suite, workflow_run, status of a repository whose deployments wait for
//   checks             -> <state_dir>/checks/<deployment> touched (wakes the waiting deployer,
//                          which asks GitHub's API itself); ledger: routed; removed;
//   anything else       -> ledger: ignored, with the reason; removed.
//
// Batching: handle() does the queue items and the links of one entry, but its decision, the
// fsyncs of the queue folders and the removal from the inbox wait for flush(): a batch of
// entries costs one ledger statement for all its decisions and one set of fsyncs
// (queue-layout/group_commit.hpp). The caller flushes after a batch, before it waits and before
// it exits; until then the handled entries are still in the inbox. (A rejected entry's decision
// is written at once: its file leaves the inbox at once, for rejected/.)
//
// Crash contract (kill -9 at any instant, then the same entry handled again by the restarted
// router): every ledger write is idempotent, and the entry leaves the inbox only after
// everything else about it is durable, so a re-run redoes what is missing and nothing twice.
// The routing order, and why it gives exactly-once delivery into each queue, is spelled out at
// Handler::route in handle.cpp.
//
// Errors: ledger::Unavailable (the database is down) and FsError (a link, removal or
// quarantine failed: disk full, I/O error) leave the entry in the inbox: the caller waits and
// calls handle() again. ledger::Error (a bug or a broken database) propagates.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "common/config.hpp"
#include "common/ledger/fanout.hpp"
#include "common/ledger/ledger.hpp"
#include "queue-layout/group_commit.hpp"
#include "queue-layout/layout.hpp"
#include "router/inspect.hpp"
#include "router/settle.hpp"

namespace router {

/// A file-system step failed; the entry is still in the inbox. what() names the path.
class FsError : public std::runtime_error {
 public:
  FsError(const std::string& what, std::error_code code)
      : std::runtime_error(what + ": " + code.message()), code_(code) {}
  std::error_code code() const { return code_; }

 private:
  std::error_code code_;
};

/// How handle() left an entry.
struct Handled {
  /// Set when the entry is not usable yet and stays in the inbox until at least this time
  /// (or the next change to the folder): entries behind it wait too.
  std::optional<std::chrono::steady_clock::time_point> wait_until;
};

class Handler {
 public:
  /// All references must outlive the Handler. `fanout`: set when a deployment has "hosts"
  /// (docs/hosts.md); it records the routing of an entry that other hosts must get too.
  Handler(const common::Config& config, const queue_layout::Layout& layout, ledger::Ledger& ledger,
          ledger::Fanout* fanout = nullptr);

  /// See the file comment. Never throws for anything about the entry's content.
  Handled handle(const std::string& name);

  /// Records the decisions of the entries handled since the last flush, makes their links
  /// durable, then removes those entries from the inbox durably. Throws ledger::Unavailable or
  /// FsError: the entries then stay in the inbox and are handled again.
  void flush();
  /// Entries handled but not yet flushed.
  std::size_t pending() const { return commit_.pending(); }

  /// Moves a stray (a "*.json" name that is not an entry name) to rejected/ once it has
  /// settled; returns when to look at it again if it has not.
  std::optional<std::chrono::steady_clock::time_point> handle_stray(const std::string& name);

  /// Names that could not be quarantined because rejected/ already holds a different file of
  /// that name: they stay in the inbox (nothing is deleted) and are skipped until restart.
  bool stuck(const std::string& name) const { return stuck_.contains(name); }

  /// Forgets settle-time bookkeeping for names no longer in the inbox.
  void keep_only(const std::set<std::string>& present);
  /// Whether keep_only() has anything to forget.
  bool tracking() const { return !settle_.empty() || !stuck_.empty(); }

 private:
  void reject(const std::string& name, const Bad& bad);
  void ping(const std::string& name, const common::Entry& entry);
  /// A check event: touches <state_dir>/checks/<deployment> of every deployment it wakes.
  void checks(const std::string& name, const common::Entry& entry);
  void ignore(const std::string& name, const common::Entry& entry, const std::string& reason);
  void push(const std::string& name, const common::Entry& entry, const common::Push& push);
  void route(const std::string& name, const common::Entry& entry, const common::Push& push,
             const std::vector<std::string>& matched, std::vector<std::string> targets,
             std::vector<std::string> duplicates);
  /// Records `name` as a duplicate of a delivery already handled for `duplicates`
  /// ("deployment (state)") and removes it from the inbox.
  void drop_duplicate(const std::string& name, const common::Entry& entry,
                      const std::vector<std::string>& matched,
                      const std::vector<std::string>& duplicates);
  void record(const std::string& name, const common::EntryMeta& meta, ledger::Decision decision,
              const std::string& reason);
  /// record(), at the next flush().
  void record_later(const std::string& name, const common::EntryMeta& meta,
                    ledger::Decision decision, const std::string& reason);
  void remove_from_inbox(const std::string& name);
  /// The deployment's queues/, active/, done/ or failed/ folder if `name` is in one of them.
  std::optional<std::filesystem::path> taken_by_deployment(const std::string& deployment,
                                                           const std::string& name) const;
  /// The queue items of `targets`, and with `fanout` set the fan-out items of their other hosts
  /// in the same transaction, under the delivery's lock (ledger/fanout.hpp: `blocked` then
  /// names the targets another host's router routed the same delivery to meanwhile).
  ledger::Routed record_routing(const std::string& name, const common::Entry& entry,
                                const common::Push& push, const std::vector<std::string>& targets);
  /// quarantine() into rejected/; false when a different file of that name is already there.
  bool quarantine(const std::string& name, const std::string& reason);
  /// GitHub's "queued" for the deploy of `name` into `deployment`'s outbox (docs/github.md).
  void queue_github_queued(const std::string& deployment, const std::string& name,
                           const common::Push& push);

  const common::Config& config_;
  const queue_layout::Layout& layout_;
  ledger::Ledger& ledger_;
  ledger::Fanout* fanout_;
  std::filesystem::path inbox_;
  std::size_t max_bytes_;  // common::max_entry_bytes
  SettleTracker settle_;
  queue_layout::GroupCommit commit_;
  std::set<std::string> stuck_;
  std::vector<ledger::DeliveryRecord> decisions_;  // of the entries pending in commit_
  bool github_deployments_;                        // common::github_deployments_on, at start
};

}  // namespace router
