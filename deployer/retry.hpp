// retry.hpp: automatic retries of a run that failed for a transient reason (the deployment's
// "retry", docs/deployer.md "Automatic retries").
//
// Transient: a fetch or `git ls-remote` that could not reach the remote, a disk that was full or
// failing (ENOSPC, EDQUOT, EIO) where the deployer itself writes, GitHub's API not answering
// while waiting for checks, and a step (or activate step) that exited with one of the
// deployment's `exit_codes`. Anything else (a build that failed, a commit that does not exist, a
// step killed on its timeout) is never retried: trying again would only fail again.
//
// A retried entry stays in active/ between its attempts, its queue item `retrying` with the
// attempt's number and due time in the ledger (Ledger::retry_later), so a deployer killed during
// the back-off waits for the same moment when it starts again and runs the next attempt once.
// Each attempt has its own log: the failed one's is renamed <entry>.attempt-<n>.log, and
// <entry>.log is always the latest attempt's. A newer entry arriving in the queue ends the
// retries: the failure stands (failed/, `deployctl retry` still works) and the newer one runs.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "common/config.hpp"
#include "deployer/context.hpp"
#include "deployer/errors.hpp"

namespace deployer {

/// Whether `failure` is of a kind `retry` allows to try again (see above).
bool retryable(const common::RetrySettings& retry, const DeployFailure& failure);

/// The wait before attempt `next` (2, 3, ...): backoff_s, doubled for each retry before it.
std::chrono::seconds retry_delay(const common::RetrySettings& retry, int next);

/// Where attempt `attempt`'s log goes once that attempt failed and another follows.
std::filesystem::path attempt_log(const std::filesystem::path& logs, const std::string& entry,
                                  int attempt);

/// The entry the log file `name` belongs to ("<entry>.log", "<entry>.attempt-<n>.log",
/// "<entry>.changed"), or "" for any other name.
std::string log_owner(const std::string& name);

/// The oldest canonical entry waiting in the queue, if any.
std::optional<std::string> newer_entry(const Context& context);

/// Sleeps until `due` (wall clock, as the ledger keeps it), looking at the queue at least once
/// a second. Returns the name of an entry that arrived in the queue meanwhile (the retries end),
/// or nullopt once `due` has come. Throws Stopped on shutdown.
boost::asio::awaitable<std::optional<std::string>> wait_for_attempt(
    Context& context, std::chrono::system_clock::time_point due);

}  // namespace deployer
