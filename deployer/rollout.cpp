// rollout.cpp: see rollout.hpp.
#include "deployer/rollout.hpp"

#include <chrono>

#include "common/ledger/rollouts.hpp"
#include "deployer/github_deploy.hpp"
#include "deployer/retry.hpp"

namespace deployer {

namespace {

using namespace std::chrono_literals;

constexpr auto poll_period = 250ms;

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 7);
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

ledger::RolloutPlan plan_of(const Context& context, const std::string& entry,
                            const std::string& sha) {
  ledger::RolloutPlan plan;
  plan.deployment = context.deployment.name;
  plan.entry_name = entry;
  plan.sha = sha;
  for (const auto& target : context.deployment.hosts) plan.hosts.push_back(target.name);
  plan.max_parallel = static_cast<int>(context.deployment.rollout.max_parallel);
  return plan;
}

ledger::HostDownRule down_rule(const Context& context) {
  const auto& rollout = context.deployment.rollout;
  return {std::chrono::seconds(rollout.host_timeout_s),
          rollout.on_host_down == common::RolloutSettings::OnHostDown::skip};
}

const std::string& host_of(const Context& context) {
  return context.config.host;
}

// What the rollout's failure means for this host, for its error and log.
std::string failure_text(const ledger::Rollout& rollout) {
  return "the rollout failed on " + rollout.failed_host.value_or("another host") + " (" +
         rollout.reason + ")";
}

// Where each host is: "web1 live, web2 switching, web3 built" (hosts not joined: "waiting").
std::string progress(const ledger::Rollout& rollout) {
  std::string out;
  for (const auto& host : rollout.hosts) {
    const auto* row = rollout.row(host);
    out += (out.empty() ? "" : ", ") + host + " " +
           (row == nullptr ? std::string("waiting") : std::string(ledger::to_string(row->state)));
  }
  return out;
}

// The host that speaks for the deployment tells GitHub where the rollout stands, once per change.
void report_progress(const Context& context, RunState& state, const ledger::Rollout& rollout,
                     std::string& last) {
  if (!context.reports) return;
  const std::string text = "Rolling out " + short_sha(rollout.sha) + ": " + progress(rollout);
  if (text == last) return;
  last = text;
  github_status(context, state.name, state.push(), common::DeploymentState::in_progress, text,
                state.run);
}

// Waits polling step() until it says something other than "wait". Logs once per change of the
// hosts waited for, and once when a host is late under on_host_down "wait".
boost::asio::awaitable<ledger::RolloutStep> poll(Context& context, RunState& state,
                                                 const char* waiting_what, bool supersede) {
  const auto rule = down_rule(context);
  std::vector<std::string> last_waiting;
  std::string last_progress;
  bool told_late = false;
  const auto started = std::chrono::steady_clock::now();
  // A flag, not `for (;;)` with co_return inside (see deploy_entry: GCC 12 miscompiles that).
  std::optional<ledger::RolloutStep> outcome;
  while (!outcome) {
    if (context.stop.requested()) throw Stopped();
    auto step = co_await with_ledger(context, "rollout_step", [&] {
      return context.rollouts->step(context.deployment.name, state.name, host_of(context), rule);
    });
    for (const auto& host : step.skipped) {
      state.log->note("rollout: " + host + " did not answer within " +
                      std::to_string(rule.timeout.count()) +
                      " s: the rollout goes on without it (on_host_down: skip)");
    }
    if (step.action != ledger::RolloutAction::wait) {
      outcome = std::move(step);
      continue;
    }
    report_progress(context, state, step.rollout, last_progress);
    if (step.waiting_for != last_waiting) {
      last_waiting = step.waiting_for;
      state.log->note(std::string("rollout: ") + waiting_what + " (waiting for " +
                      joined(last_waiting) + ")");
    }
    if (!told_late && !rule.skip && std::chrono::steady_clock::now() - started > rule.timeout) {
      told_late = true;
      state.log->note("rollout: still waiting after " + std::to_string(rule.timeout.count()) +
                      " s for " + joined(last_waiting) + " (on_host_down: wait)");
      common::log::warn("rollout waits for a host that does not answer",
                        {{"deployment", context.deployment.name},
                         {"entry", state.name},
                         {"hosts", joined(last_waiting)}});
    }
    // Before its turn, a newer entry waiting in this host's queue supersedes the rollout: the
    // hosts not yet switched go on to the newer one instead.
    if (supersede) {
      if (auto newer = newer_entry(context)) {
        const std::string reason =
            "superseded by the newer entry " + *newer + " on " + host_of(context);
        auto rollout = co_await with_ledger(context, "rollout_supersede", [&] {
          return context.rollouts->supersede(plan_of(context, state.name, state.push().after),
                                             host_of(context), reason);
        });
        if (rollout.state == ledger::RolloutState::superseded) {
          step.action = ledger::RolloutAction::superseded;
          step.rollout = std::move(rollout);
          outcome = std::move(step);
        }
        continue;  // else it ended otherwise meanwhile: the next step says how
      }
    }
    co_await pause(context.stop, poll_period);
  }
  co_return std::move(*outcome);
}

}  // namespace

boost::asio::awaitable<std::optional<std::string>> join_rollout(Context& context, RunState& state) {
  if (context.rollouts == nullptr || !state.layout) co_return std::nullopt;
  const auto rollout = co_await with_ledger(context, "rollout_join", [&] {
    return context.rollouts->join(plan_of(context, state.name, state.push().after),
                                  host_of(context));
  });
  switch (rollout.state) {
    case ledger::RolloutState::building:
    case ledger::RolloutState::switching:
      state.rollout = true;
      state.log->note("rollout: joined the rollout of " + short_sha(rollout.sha) + " to " +
                      joined(rollout.hosts) + " (at most " + std::to_string(rollout.max_parallel) +
                      " switching at once)");
      co_return std::nullopt;
    case ledger::RolloutState::succeeded:
      state.log->note(
          "rollout: the rollout of this entry has already succeeded without this host: "
          "deploying here on its own");
      co_return std::nullopt;
    case ledger::RolloutState::superseded:
      co_return "the rollout was superseded (" + rollout.reason + ")";
    case ledger::RolloutState::failed:
      break;
  }
  // A run killed after its switch may have left the rollout's release live here: it goes back
  // to the last good release on the failure path, as after a failed health check.
  if (state.live_before && state.good && *state.live_before != *state.good) {
    state.release = *state.live_before;
    state.switched = true;
  }
  throw DeployFailure("rollout", failure_text(rollout));
}

boost::asio::awaitable<std::optional<std::string>> await_switch_turn(Context& context,
                                                                     RunState& state) {
  if (!state.rollout) co_return std::nullopt;
  co_await with_ledger(context, "rollout_built", [&] {
    context.rollouts->built(context.deployment.name, state.name, host_of(context), state.release);
  });
  state.log->note("rollout: release " + state.release + " built; nothing live has changed");
  const auto step = co_await poll(context, state, "built, waiting for the turn to switch", true);
  switch (step.action) {
    case ledger::RolloutAction::switch_now:
      state.log->note("rollout: this host's turn to switch");
      co_return std::nullopt;
    case ledger::RolloutAction::superseded:
      co_return "the rollout was superseded before this host switched (" + step.rollout.reason +
          ")";
    case ledger::RolloutAction::succeeded:
      // Every other host live, this one skipped meanwhile: deploy on its own.
      state.rollout = false;
      state.log->note("rollout: it ended without this host: switching on its own");
      co_return std::nullopt;
    case ledger::RolloutAction::failed:
    case ledger::RolloutAction::wait:
      break;
  }
  throw DeployFailure("rollout", failure_text(step.rollout) + "; this host did not switch");
}

boost::asio::awaitable<void> await_fleet(Context& context, RunState& state) {
  if (!state.rollout) co_return;
  co_await with_ledger(context, "rollout_live", [&] {
    return context.rollouts->live(context.deployment.name, state.name, host_of(context));
  });
  state.log->note("rollout: live and healthy here");
  const auto step = co_await poll(context, state, "live, waiting for the other hosts", false);
  switch (step.action) {
    case ledger::RolloutAction::succeeded:
      state.log->note("rollout: every host is live");
      co_return;
    case ledger::RolloutAction::superseded:
      state.log->note("rollout: superseded (" + step.rollout.reason +
                      "); this host stays on its healthy release");
      co_return;
    case ledger::RolloutAction::failed:
    case ledger::RolloutAction::switch_now:
    case ledger::RolloutAction::wait:
      break;
  }
  throw DeployFailure("rollout", failure_text(step.rollout) + "; this host goes back");
}

boost::asio::awaitable<void> rollout_failed(Context& context, RunState& state,
                                            const DeployFailure& failure) {
  if (!state.rollout || failure.stage == "rollout") co_return;
  co_await with_ledger(context, "rollout_fail", [&] {
    return context.rollouts->fail(context.deployment.name, state.name, host_of(context),
                                  failure.what());
  });
  state.log->note("rollout: this host's failure ends the rollout; no other host switches");
}

boost::asio::awaitable<void> rollout_rolled_back(Context& context, RunState& state,
                                                 const std::string& what) {
  if (!state.rollout) co_return;
  co_await with_ledger(context, "rollout_end_host", [&] {
    context.rollouts->end_host(context.deployment.name, state.name, host_of(context),
                               ledger::RolloutHostState::rolled_back, what);
  });
}

boost::asio::awaitable<void> rollout_not_deployed(Context& context, const std::string& entry,
                                                  const std::string& sha,
                                                  const std::string& reason) {
  if (context.rollouts == nullptr) co_return;
  co_await with_ledger(context, "rollout_supersede", [&] {
    return context.rollouts->supersede(plan_of(context, entry, sha), host_of(context),
                                       "not deployed on " + host_of(context) + ": " + reason);
  });
}

}  // namespace deployer
