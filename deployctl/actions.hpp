// actions.hpp: the writes an operator makes into the state directory, shared by deployctl's
// `retry`, `enqueue` and `rollback` and by the dashboard's buttons, so both write exactly the same
// thing.
// None records queue items in the ledger: the deployer records an entry when it takes it. A
// rollback of a deployment on several hosts hands its entry to the other hosts through the
// ledger's fan-out (docs/hosts.md).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace deployctl {

/// Moves `names` (all canonical entries of failed/<deployment>/, oldest first, when empty) back
/// into queues/<deployment>/, then removes each one's .error.json; calls `moved` after each.
/// Returns the names moved (empty when there was nothing to retry). Every named entry is checked
/// before anything moves. Throws Failure naming the entry or folder at fault. Crash safety: see
/// cmd_retry.cpp.
std::vector<std::string> retry_failed(const common::Config& config,
                                      const common::Deployment& deployment,
                                      std::vector<std::string> names,
                                      const std::function<void(const std::string&)>& moved = {});

/// Publishes a replay entry for `sha` (validated, lower-case) on `ref` (empty: the deployment's
/// branch) requested by `user` into queues/<deployment>/ and returns its name; durable when it
/// returns. Throws UsageError for a bad sha or ref, Failure when it cannot be written. On several
/// hosts the same entry reaches every host, as enqueue_rollback's does (Failure when this host is
/// not one of them or the ledger cannot be reached; then no host has the entry).
std::string enqueue_replay(const common::Config& config, const common::Deployment& deployment,
                           const std::string& sha, const std::string& ref, const std::string& user);

struct QueuedRollback {
  std::string entry;    ///< the rollback entry's name in queues/<deployment>/
  std::string release;  ///< the kept release it switches to
  std::string commit;   ///< that release's REVISION
};

/// Publishes a rollback entry of a release-mode deployment into queues/<deployment>/; durable when
/// it returns. `to` is a release name or a commit (7 to 64 hex digits, any case); empty: the
/// release before the live one. Throws UsageError for a malformed `to`, Failure when the
/// deployment is not in release mode, no kept release matches, or the entry cannot be written.
/// On several hosts the entry names the target's commit and reaches every host of the deployment
/// (the others through the ledger's fan-out, first; then this host's queue); Failure when this
/// host is not one of them or the ledger cannot be reached (then no host has the entry).
QueuedRollback enqueue_rollback(const common::Config& config, const common::Deployment& deployment,
                                std::string to, const std::string& user);

}  // namespace deployctl
