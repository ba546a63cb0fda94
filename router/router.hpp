// router.hpp: the router program's loop: inbox/ -> queues/<deployment>/, decisions in the ledger.
//
// run(config) does, in order:
//   1. ensure the state directory's folders exist (queue_layout::ensure_layout);
//   2. remove stale dot-temporaries of dead publishers from inbox/;
//   3. check the ledger schema (refuses to start, naming `deployctl migrate`, when it is behind;
//      waits with backoff while the database is unreachable);
//   4. add the inotify watch on inbox/, THEN scan it (the other order could miss an entry
//      published between the scan and the watch);
//   5. handle entries one at a time in byte (= arrival) order: everything present at startup
//      first, then what arrives, one listing per batch. An entry that is not usable yet (a file
//      still being copied in) holds back the entries behind it until it settles. The fsyncs
//      that end routing are shared by up to 256 consecutive entries
//      (queue-layout/group_commit.hpp), and always done before the router waits or exits.
// The configuration was validated by load_config before run() is called, so nothing here
// touches an entry on the strength of a bad configuration.
//
// While the ledger is unreachable, or a file-system step fails (disk full), the entry at hand
// stays in the inbox and is retried with capped backoff (100 ms doubling to 5 s); routing
// resumes by itself. One log line when routing pauses, one when it resumes.
// SIGTERM or SIGINT: the entry being handled is finished, then run() returns 0.
// SIGHUP (with `reload`): the configuration is read again (common/reload.hpp); when it is
// accepted the entry being handled is finished and run() returns 0 with the new configuration
// pending, for the caller to run again (new deployments get their folders and are routed).
// Throws on startup failures (unwritable state directory, schema behind, missing DATABASE_URL)
// and on ledger::Error (a bug or a broken database: PM2 restarts the router).
#pragma once

#include "common/config.hpp"
#include "common/reload.hpp"

namespace router {

/// Runs the router until SIGTERM/SIGINT, or until `reload` accepted a new configuration on
/// SIGHUP; returns the exit status (0).
int run(const common::Config& config, common::ConfigReload* reload = nullptr);

}  // namespace router
