// service.hpp: the deployer process for one deployment, from start to shutdown.
//
// Startup, in this order:
//   1. the state directory's folders exist (queue-layout ensure_layout);
//   2. the deployment's lock is taken (lock.hpp): a second deployer refuses to start;
//   3. stale publish temporaries are removed from the deployment's folders;
//   4. the ledger schema is checked (waiting while the database is unreachable; a schema that
//      is behind stops the program with "run `deployctl migrate`");
//   5. the queue folder's inotify watch is added (before any scan, so nothing slips between);
//   6. entries left in active/ by a previous run are finished first: a move a crash interrupted
//      is completed, anything else is deployed again.
// Then the loop: take the oldest usable entry of the queue, move it to active/, deploy it
// (deploy.hpp); when the queue has nothing usable, wait for the watcher (or the settle time of a
// file still being written, or the slow safety-net rescan).
//
// SIGTERM and SIGINT (PM2 stops with SIGINT): the running step's process group is killed, the
// entry stays in active/, queued commit statuses are abandoned, and run() returns 0 within a few
// seconds. Fatal problems (unusable state directory, schema behind, a broken invariant) throw.
//
// SIGHUP (with `reload`): the configuration is read again (common/reload.hpp). Refused (invalid,
// state_dir changed, the deployment gone): one error line, nothing else changes. Accepted: the
// running deploy, if any, finishes with the configuration it started with; then run() returns 0
// with the new one pending, and the caller runs it again (steps, checks, secrets all re-read).
// Commit statuses still queued at that moment are abandoned, as on a stop.
#pragma once

#include <string>

#include "common/config.hpp"
#include "common/reload.hpp"

namespace deployer {

/// Runs the deployer of `deployment` until SIGTERM/SIGINT, or until `reload` accepted a new
/// configuration on SIGHUP; returns the exit status (0). Throws std::exception with a one-line
/// message on a fatal problem.
int run(const common::Config& config, const std::string& deployment,
        common::ConfigReload* reload = nullptr);

}  // namespace deployer
