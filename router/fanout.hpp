// fanout.hpp: this host's side of fan-out (docs/hosts.md): taking the entries other hosts' routers
// recorded for it in the ledger (ledger/fanout.hpp) and publishing them into its queue folders.
//
// FanoutPuller runs on a thread of its own while the router runs, only when the configuration has
// a deployment with "hosts" (a single-host configuration starts nothing and opens no extra
// connection). It loops:
//   1. deliver(): lock this host's undelivered items (FOR UPDATE SKIP LOCKED), publish each with
//      publish_item(), mark the published ones delivered, commit; again while batches are full;
//   2. wait for a NOTIFY deploy_fanout naming this host (ledger::Listener), at most the router's
//      rescan_s (the poll that catches a notification lost while a connection was down).
// At start it looks at once, so items recorded while this router was down are taken first.
// Once at start and then hourly it deletes its host's items delivered more than
// retention.done_max_age_days ago.
// While the ledger is unreachable or a publish fails (disk full), it waits with capped backoff
// (100 ms doubling to 5 s) and tries again; one log line per state change.
//
// Crash contract: an item is published before it is marked delivered, under the entry's own name,
// and publish_item() treats that name already present in any of the deployment's folders as done.
// So kill -9 between the publish and the commit publishes it again as a no-op, and the entry is
// in the host's queue exactly once, never in none.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/config.hpp"
#include "common/ledger/fanout.hpp"
#include "queue-layout/layout.hpp"

namespace router {

/// Whether some deployment of the configuration has "hosts": only then is fan-out used.
bool uses_fanout(const common::Config& config);

/// Publishes `item` durably as queues/<deployment>/<entry_name> of `layout`, unless that name is
/// already in one of the deployment's folders (queues, active, done, failed: published before, and
/// perhaps taken by the deployer), whose folder is then fsynced (the earlier publish may have died
/// before its own folder fsync). Returns "" on success, else the error naming the path.
std::string publish_item(const queue_layout::Layout& layout, const ledger::FanoutItem& item);

class FanoutPuller {
 public:
  /// Starts the thread. `config` and `layout` must outlive the puller.
  FanoutPuller(const common::Config& config, const queue_layout::Layout& layout);
  /// Stops the thread (it finishes the batch at hand) and joins it.
  ~FanoutPuller();
  FanoutPuller(const FanoutPuller&) = delete;
  FanoutPuller& operator=(const FanoutPuller&) = delete;

 private:
  void run(std::stop_token stop);
  /// Fanout::prune of this host's old delivered items, at most once per hour.
  void prune(ledger::Fanout& fanout, std::stop_token& stop);
  /// Waits up to `delay`; false when stopping.
  bool sleep(std::stop_token& stop, std::chrono::milliseconds delay);
  void paused(const std::string& why, const std::string& error);
  void resumed();

  const common::Config& config_;
  const queue_layout::Layout& layout_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::string pause_reason_;
  std::optional<std::chrono::steady_clock::time_point> pruned_;  // the last prune
  std::jthread thread_;  // last: started once everything above exists
};

}  // namespace router
