// rollout.hpp: the rolling, health-gated switch of a deployment on several hosts (docs/hosts.md
// "Rolling switch"), the deployer's side of ledger::Rollouts.
//
// Every host's deployer runs its own copy of the entry through the usual stages (deploy.hpp); in
// release mode on several hosts, these calls gate them:
//   join_rollout      after prepare: this host joins the entry's rollout. When the rollout has
//                     already ended, the run follows its outcome: succeeded, this host deploys on
//                     its own (it was skipped, or is running the entry again after a crash);
//                     failed, the run fails (going back to the last good release if a crash left
//                     the rollout's release live); superseded, the entry is recorded superseded;
//   await_switch_turn after build (the release complete and preflighted, nothing live changed):
//                     waits until every host has built and it is this host's turn (at most
//                     rollout.max_parallel switching, in the order of `hosts`); a newer entry in
//                     this host's queue meanwhile supersedes the rollout;
//   await_fleet       after the health check passed: waits until every host is live. When the
//                     rollout fails meanwhile on another host, throws, and the failure path puts
//                     this host's previous release back (revert_release);
//   rollout_failed    from the failure path: this host's own failure ends the rollout.
// A host that takes longer than rollout.host_timeout_s to build, or to switch and pass its
// health check, counts as down: the others go on without it when on_host_down is "skip" (it
// deploys on its own when it returns), and keep waiting otherwise. Waiting polls the ledger
// every 250 ms; each poll is also the host's sign of life. The host that speaks for the deployment
// (common::reports_for) posts each change of where the hosts stand to its GitHub deployment as an
// in_progress status ("Rolling out 1a2b3c4: web1 live, web2 switching, web3 built"). Not used in
// place (nothing to switch) nor on one host.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "deployer/context.hpp"
#include "deployer/errors.hpp"
#include "deployer/run_state.hpp"

namespace deployer {

/// See the file comment. Sets state.rollout when the run is coordinated. Returns why the entry
/// is not to be deployed when the rollout was superseded. Throws DeployFailure("rollout", ...)
/// when the rollout already failed.
boost::asio::awaitable<std::optional<std::string>> join_rollout(Context& context, RunState& state);

/// See the file comment. Returns why the entry is not to be deployed when the rollout was
/// superseded (the release built is then not switched to). Throws DeployFailure("rollout", ...)
/// when it failed on another host.
boost::asio::awaitable<std::optional<std::string>> await_switch_turn(Context& context,
                                                                     RunState& state);

/// See the file comment. Throws DeployFailure("rollout", ...) when the rollout failed on another
/// host after this one went live.
boost::asio::awaitable<void> await_fleet(Context& context, RunState& state);

/// This host's own failure ends the rollout (no-op for a failure the rollout itself reported).
boost::asio::awaitable<void> rollout_failed(Context& context, RunState& state,
                                            const DeployFailure& failure);

/// After the failure path put this host's previous release back because the rollout failed.
boost::asio::awaitable<void> rollout_rolled_back(Context& context, RunState& state,
                                                 const std::string& what);

/// An entry not deployed (superseded, stale, skipped) ends its rollout, so that no host waits
/// for this one; no-op when the deployment does not roll out.
boost::asio::awaitable<void> rollout_not_deployed(Context& context, const std::string& entry,
                                                  const std::string& sha,
                                                  const std::string& reason);

}  // namespace deployer
