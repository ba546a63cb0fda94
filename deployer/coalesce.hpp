// coalesce.hpp: superseding a backlog of webhook pushes in one batch.
//
// With coalescing on (the default), a webhook push is not deployed when a newer webhook push of
// the deployment waits in its queue: it is recorded superseded. Taken one at a time through
// active/, each such entry cost two moves (four fsyncs) and five ledger round trips, so a backlog
// of thousands of pushes drained at a few entries a second. Before the deployer takes its next
// entry, supersede_waiting() handles every such entry of the queue together:
//   1. one ledger query: which entries are queued webhook pushes; the newest of them stays;
//   2. the older ones move queue -> active/ as one batch (queue_layout::GroupCommit: one fsync
//      of each folder for the whole batch);
//   3. one ledger statement records them superseded (queue items and run rows);
//   4. they move active/ -> done/ as one batch; a short run log each; done/ is pruned.
// The order makes every crash recoverable by what already exists: after 2 the entries are in
// active/ still queued, and the restarted deployer runs them one by one (each is superseded
// again, or deployed if nothing newer remains); after 3 they are in active/ already superseded,
// and recover_active() finishes their move to done/ without deploying them. An operator's entry
// (no ledger item, or trigger operator) is never superseded: it stays in the queue and is
// deployed in its turn, as one by one.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "deployer/context.hpp"

namespace deployer {

/// Steps 1-4 above for the queue's `entries` (sorted, as listed); returns the entries it took out
/// of the queue. Does nothing when the deployment does not coalesce or fewer than two webhook
/// pushes wait. A failed batch move falls back to moving its entries one by one (move_durably,
/// retried until done). Throws Stopped.
boost::asio::awaitable<std::vector<std::string>> supersede_waiting(
    Context& context, const std::vector<std::string>& entries);

}  // namespace deployer
