// wait_checks.hpp: a webhook push of a deployment with wait_for_checks waits for its commit's
// checks before it deploys (docs/github.md "Deploy after CI passes").
//
// The entry waits in active/ with its queue item `waiting` and the pending check names as its
// reason (what `deployctl status` shows); the deadline (now + wait_for_checks_timeout_s) is
// recorded when it first waits, so a restarted deployer keeps it. It looks at GitHub's API
// (checks.hpp) at once, then every github.checks_poll_s seconds (at most 30), and at once when
// the router touches <state_dir>/checks/<deployment> (a check_run, check_suite, workflow_run or
// status webhook of the repository arrived: webhooks can be lost, so the poll is the fallback).
// It also watches the queue: a newer webhook push whose commit contains this one supersedes it
// (coalesce.hpp's rule; not with "coalesce": false).
//
// All required checks passed: the deploy goes on (queue item back to running). A check failed,
// was cancelled or timed out, or the deadline passed: DeployFailure "checks" naming the check
// (transient when GitHub's API was not answering at the deadline, so "retry" may try again).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "common/entry.hpp"
#include "deployer/context.hpp"
#include "deployer/run_log.hpp"

namespace deployer {

/// <state_dir>/checks/<deployment>: the file the router touches to wake a waiting deployer.
std::filesystem::path checks_nudge(const common::Config& config, const std::string& deployment);

/// Waits as above for the webhook push `push` of entry `entry` (in active/, read as `data`).
/// When it first starts waiting (not again after a restart), the "waiting" notification goes
/// out. Returns nullopt to deploy, or the reason to record it superseded. Throws DeployFailure,
/// Stopped.
boost::asio::awaitable<std::optional<std::string>> wait_for_checks(Context& context, RunLog& log,
                                                                   const common::Entry& data,
                                                                   const std::string& entry,
                                                                   const common::Push& push);

}  // namespace deployer
