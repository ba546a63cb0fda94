// deploy.hpp: one entry, from active/<deployment>/ to done/ or failed/.
//
// In stages, each a function of the run's RunState (run_state.hpp), the value that carries what
// the earlier stages found:
//   take      read and check the entry (a broken one goes to failed/ with its reason; a
//             rollback entry's target release is found, since the claim records its commit);
//             ledger claim(): "webhook" when the router queued it, "operator" for anything else;
//             the run log; coalescing: a webhook push whose commit a webhook push waiting in
//             the queue (its ledger item queued) contains is recorded superseded and moved to
//             done/ undeployed, unless "coalesce": false (coalesce.hpp: ancestry, never arrival);
//   prepare   git ready (the clone in place; release mode's folders and bare store), the commit
//             fetched, the replay rule (staleness.hpp: a webhook push off the branch or not newer
//             than the deployed commit is recorded stale and moved to done/), the path filters
//             and [skip deploy] (path_filter.hpp: recorded skipped, moved to done/), the run
//             started, commit status "pending";
//   build     in place: git checkout of the exact commit and the steps in the deployment's path;
//             release mode: a new release folder, reuse, shared links, the steps, the preflight,
//             REVISION (release.hpp); the changed paths written to logs/<entry>.changed;
//   rollout   release mode on several hosts (rollout.hpp): the run joins the entry's rollout
//             after prepare, waits after build until every host has built and it is this host's
//             turn to switch, and after verify until every host is live; a failure on another
//             host fails the run (back to the previous release if this host had switched);
//   switch    release mode: `current` renamed to the new release (or a rollback's target);
//   activate  release mode: the activate steps in path/current;
//   verify    release mode: the health check;
//   finish    success: retention of releases, a rollback recorded, ledger finish_run, run log
//             fsynced, commit status success, the entry to done/ (done/ pruned); failure:
//             `current` switched back and the activate steps run again there (after a switch),
//             or the new release discarded (before it), then the same with failed/ and
//             failed/<entry>.error.json published first.
//
// Crash contract: the entry stays in active/ until its outcome is recorded in the ledger, so a
// crash or kill -9 at any point before the final move makes the next start run it again from
// the take stage (the ledger keeps its trigger; the earlier unfinished run is closed as
// interrupted). A crash between the ledger and the final move re-runs a finished deploy:
// harmless, the same commit is deployed again. In release mode `current` names a complete
// release at every instant (release.hpp). On a shutdown request the running step's process
// group is killed, the run is recorded as interrupted (best effort), the entry stays in active/
// and Stopped is thrown.
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
