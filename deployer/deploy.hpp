// deploy.hpp: one entry, from active/<deployment>/ to done/ or failed/.
//
// In order:
//   1. read and check the entry (a broken one goes to failed/ with its reason);
//   2. ledger claim(): "webhook" when the router queued it, "operator" for anything else
//      (a replay or rollback dropped into the queue, a retry moved back from failed/);
//   3. coalescing: a webhook push with a newer webhook push of the deployment waiting in the
//      queue (its ledger item queued) is recorded superseded and moved to done/ undeployed,
//      unless the deployment says "coalesce": false; operator entries are never superseded;
//   4. git fetch from the deployment's remote;
//   5. staleness: a webhook push whose commit is the last deployed one or an ancestor of it is
//      recorded stale and moved to done/ undeployed; operator entries are always deployed;
//   6. ledger start_run, commit status "pending", git checkout of the exact commit, the list
//      of changed paths written to logs/<deployment>/<entry>.changed;
//   7. the steps (steps.hpp);
//   8. the outcome: ledger finish_run, run log fsynced, commit status success/failure, then the
//      entry moves to done/ (and done/ is pruned) or, on failure, failed/<entry>.error.json is
//      published first and the entry moved to failed/ after it.
//
// Crash contract: the entry stays in active/ until its outcome is recorded in the ledger, so a
// crash or kill -9 at any point before the final move makes the next start run it again from
// step 1 (the ledger keeps its trigger; the earlier unfinished run is closed as interrupted).
// A crash between the ledger and the final move re-runs a finished deploy: harmless, the same
// commit is deployed again. On a shutdown request the running step's process group is killed,
// the run is recorded as interrupted (best effort), the entry stays in active/ and Stopped is
// thrown.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "deployer/context.hpp"

namespace deployer {

/// Deploys `entry`, which is in context.active (see above).
boost::asio::awaitable<void> deploy_entry(Context& context, const std::string& entry);

/// Removes old entries of done/ per the retention settings, and the run logs (.log, .changed)
/// of entries that are in none of the deployment's folders any more.
void prune(const Context& context);

}  // namespace deployer
