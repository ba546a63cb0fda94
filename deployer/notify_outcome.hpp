// notify_outcome.hpp: the deployer's one call into notifications, at a deploy's outcome.
//
// Builds the message (deployment, commit: short sha, first line of its message and author, from
// the push payload's head_commit or else from git, outcome, duration, error) and puts it in the
// outbox (outbox.hpp) for every notification that wants it. "recovered" replaces
// "succeeded" when the previous finished deploy of the deployment (in the ledger) failed.
// Returns quickly: nothing is sent here, and no failure here affects the deploy.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "common/entry.hpp"
#include "deployer/context.hpp"

namespace deployer {

/// `outcome`: "succeeded", "failed", "rolled_back" or "waiting"; `run` is this deploy's ledger
/// run (to find the one before it).
boost::asio::awaitable<void> notify_outcome(Context& context, const common::Entry& entry,
                                            const common::Push& push, std::string outcome,
                                            std::chrono::steady_clock::duration elapsed,
                                            std::optional<ledger::RunId> run,
                                            std::string error = "");

}  // namespace deployer
