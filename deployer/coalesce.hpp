// coalesce.hpp: superseding waiting webhook pushes whose commit a newer waiting push contains.
//
// With coalescing on (the default), a webhook push is not deployed when another webhook push of
// the deployment waiting in its queue has a commit that contains it (the same commit or a
// descendant, `git merge-base --is-ancestor` after fetching that push's commit): deploying the
// other one deploys this commit too, so it is recorded superseded. Arrival order never decides:
// an old push resent after a newer one (a captured signed delivery with a fresh delivery id) is
// superseded by the newer one, and cannot supersede it. Pushes whose commits are unrelated (a
// force-push) or whose ancestry git cannot establish are all kept and deployed in arrival order.
//
// Taken one at a time through active/, each superseded entry cost two moves (four fsyncs) and
// five ledger round trips, so before the deployer takes its next entry, supersede_waiting()
// handles every such entry of the queue together:
//   1. one ledger query: which entries are queued webhook pushes; git decides, newest first,
//      which of them a kept push contains (its output goes to the newest push's run log);
//   2. the superseded ones move queue -> active/ as one batch (queue_layout::GroupCommit: one
//      fsync of each folder for the whole batch);
//   3. one ledger statement per keeping push records them superseded (queue items and run rows);
//   4. they move active/ -> done/ as one batch; a short run log each; done/ is pruned.
// The order makes every crash recoverable by what already exists: after 2 the entries are in
// active/ still queued, and the restarted deployer runs them one by one (each is superseded
// again, or deployed if nothing containing it remains); after 3 they are in active/ already
// superseded, and recover_active() finishes their move to done/ without deploying them. An
// operator's entry (no ledger item, or trigger operator) is never superseded and never
// supersedes: it stays in the queue and is deployed in its turn.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/entry.hpp"
#include "deployer/context.hpp"
#include "deployer/run_log.hpp"

namespace deployer {

/// Steps 1-4 above for the queue's `entries` (sorted, as listed); returns the entries it took out
/// of the queue. Does nothing when the deployment does not coalesce or fewer than two webhook
/// pushes wait. A failed batch move falls back to moving its entries one by one (move_durably,
/// retried until done). Throws Stopped.
boost::asio::awaitable<std::vector<std::string>> supersede_waiting(
    Context& context, const std::vector<std::string>& entries);

/// Why a push is not deployed: the reason recorded, and the commit that supersedes it.
struct Superseded {
  std::string reason;
  std::string by_sha;
};

/// For `entry` (a webhook push being taken, in active/): why it is superseded when a webhook
/// push waiting in the queue contains its commit (see above), else nullopt. git's output goes to
/// `log`. Throws Stopped.
boost::asio::awaitable<std::optional<Superseded>> superseding_push(Context& context, RunLog& log,
                                                                   const std::string& entry,
                                                                   const common::Push& push);

}  // namespace deployer
