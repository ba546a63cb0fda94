// github_deploy.hpp: the deployer's calls into GitHub deployments (common/github_deployment.hpp),
// at the points of a deploy where its status changes (docs/github.md):
//   run starts                  -> in_progress
//   succeeded                   -> success "Deployed in 12.3 s"; a rollback also marks the
//                                  deployment it replaced inactive
//   failed                      -> failure (a step, activate, preflight or health check failed)
//                                  or error (fetch, checkout, the machine), with the reason
//   rolled back (release mode)  -> failure "rolled back: health check failed", then inactive;
//                                  the restored deploy's deployment success again
//   superseded, stale           -> error "superseded by 1a2b3c4", "not deployed: ..."
// Each call only publishes an outbox item and returns; each item may create the GitHub deployment
// first if the router's "queued" item did not (an operator's entry, a router without a token).
// Nothing here fails or waits for a deploy: an item that cannot be written is logged and lost.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "common/entry.hpp"
#include "common/github_deployment.hpp"
#include "deployer/context.hpp"

namespace deployer {

/// Queues a status of the deploy of entry `key` (commit `push.after`), creating its GitHub
/// deployment first when needed. `run`: the ledger run, for the log link. No-op unless
/// context.github_deployments.
void github_status(const Context& context, const std::string& key, const common::Push& push,
                   common::DeploymentState state, const std::string& description,
                   std::optional<ledger::RunId> run = std::nullopt);

/// Queues a status for an earlier deploy (never creates one): the deploy `key` of the deployment.
void github_status_of(const Context& context, const std::string& key, common::DeploymentState state,
                      const std::string& description);

/// The entry of the newest succeeded run of the deployment other than `run`: the deploy that was
/// live before this run (nullopt when none is known).
boost::asio::awaitable<std::optional<std::string>> live_before(Context& context,
                                                               std::optional<ledger::RunId> run);

/// failure or error for a failed stage (see the file comment).
common::DeploymentState failed_state(const std::string& stage);

}  // namespace deployer
