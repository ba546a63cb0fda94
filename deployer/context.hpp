// context.hpp: what every part of one deployer process shares, and the ledger back-off.
//
// One Context per process, living for the whole run on the io_context's single thread. The
// ledger is a blocking libpqxx connection used from that thread only (calls are short; waiting
// for a lost database happens in with_ledger, which yields to the event loop between attempts).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "common/backoff.hpp"
#include "common/config.hpp"
#include "common/entry.hpp"
#include "common/ledger/ledger.hpp"
#include "common/ledger/rollouts.hpp"
#include "common/log.hpp"
#include "common/stop.hpp"
#include "deployer/errors.hpp"
#include "deployer/status.hpp"
#include "queue-layout/layout.hpp"

namespace deployer {

struct Context {
  const common::Config& config;
  const common::Deployment& deployment;
  ledger::Ledger& ledger;
  common::StopSignal& stop;
  StatusReporter* statuses;           // null when no GitHub token is configured
  std::vector<std::string> base_env;  // the process environment without the deployer's secrets

  std::filesystem::path queue;
  std::filesystem::path active;
  std::filesystem::path done;
  std::filesystem::path failed;
  std::filesystem::path logs;
  /// This host's records of the deployment in the ledger (common::ledger_name): every ledger
  /// call of the deployer names it, never deployment.name.
  std::string ledger_name;
  /// This host speaks for the deployment (common::reports_for): GitHub deployments, commit
  /// statuses and notifications are sent from here only.
  bool reports = true;
  /// The rollouts of a deployment on several hosts in release mode (rollout.hpp); null otherwise.
  ledger::Rollouts* rollouts = nullptr;
  /// GitHub deployments are posted (github_deploy.hpp): github.deployments and a token.
  bool github_deployments = false;

  /// Largest entry file read (common::max_entry_bytes).
  std::size_t max_entry_bytes() const {
    return common::max_entry_bytes(config.receiver.body_limit_bytes);
  }

  /// Posts a commit status when statuses are configured.
  void status(const std::string& sha, StatusState state, const std::string& description,
              const std::string& entry) const {
    if (statuses != nullptr) statuses->post(sha, state, description, entry);
  }
};

/// Sleeps `duration` on the event loop; returns early (without throwing) when stop is requested.
boost::asio::awaitable<void> pause(common::StopSignal& stop, std::chrono::milliseconds duration);

/// Calls `call()` (a ledger operation) until it does not throw ledger::Unavailable, waiting
/// with capped exponential back-off (0.25 s doubling to 10 s) in between. The entry being
/// worked on stays where it is meanwhile, so nothing is lost. Logs one line when the waiting
/// starts and one when the ledger answers again, none per attempt (the ledger itself logs its
/// connection's state changes). Throws Stopped when stop is requested while waiting; other
/// ledger errors propagate.
template <typename Call>
boost::asio::awaitable<std::invoke_result_t<Call&>> with_ledger(Context& context,
                                                                const char* operation, Call call) {
  using Value = std::invoke_result_t<Call&>;
  common::Backoff backoff(std::chrono::milliseconds(250), std::chrono::seconds(10));
  bool waiting = false;
  for (;;) {
    if (context.stop.requested()) throw Stopped();
    std::string problem;
    try {
      if constexpr (std::is_void_v<Value>) {
        call();
        if (waiting) {
          common::log::info("ledger answers again: continuing",
                            {{"deployment", context.deployment.name}, {"operation", operation}});
        }
        co_return;
      } else {
        Value value = call();
        if (waiting) {
          common::log::info("ledger answers again: continuing",
                            {{"deployment", context.deployment.name}, {"operation", operation}});
        }
        co_return value;
      }
    } catch (const ledger::Unavailable& e) {
      problem = e.what();
    }
    if (!waiting) {
      waiting = true;
      common::log::warn(
          "ledger unavailable: waiting for it, nothing is lost",
          {{"deployment", context.deployment.name}, {"operation", operation}, {"error", problem}});
    }
    co_await pause(context.stop, backoff.next());
  }
}

}  // namespace deployer
