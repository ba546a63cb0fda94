// deploy.cpp: see deploy.hpp.
#include "deployer/deploy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <system_error>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/timefmt.hpp"
#include "common/validate.hpp"
#include "common/write_all.hpp"
#include "deployer/coalesce.hpp"
#include "deployer/git.hpp"
#include "deployer/github_deploy.hpp"
#include "deployer/intake.hpp"
#include "deployer/moves.hpp"
#include "deployer/notify_outcome.hpp"
#include "deployer/path_filter.hpp"
#include "deployer/probe.hpp"
#include "deployer/release.hpp"
#include "deployer/retry.hpp"
#include "deployer/rollout.hpp"
#include "deployer/run_log.hpp"
#include "deployer/run_state.hpp"
#include "deployer/site.hpp"
#include "deployer/staleness.hpp"
#include "deployer/steps.hpp"
#include "deployer/wait_checks.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/retention.hpp"
#include "queue-layout/scan.hpp"

namespace deployer {

namespace {

using Clock = std::chrono::steady_clock;

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 7);
}

std::string seconds_text(Clock::duration elapsed) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + " s";
}

ledger::StepOutcome to_ledger(StepReport::Result result) {
  switch (result) {
    case StepReport::Result::succeeded:
      return ledger::StepOutcome::succeeded;
    case StepReport::Result::failed:
      return ledger::StepOutcome::failed;
    case StepReport::Result::skipped:
      return ledger::StepOutcome::skipped;
    case StepReport::Result::timeout:
      return ledger::StepOutcome::timeout;
  }
  return ledger::StepOutcome::failed;
}

// Checks `sha` out and lists the paths changed since `previous`, the two git processes side by
// side: the diff compares two commits and never reads the working tree or the index the checkout
// writes, and it is one process less before the first step. Both are waited for (nothing is
// cancelled half way); the checkout's failure is the one reported when both fail.
boost::asio::awaitable<std::vector<std::string>> checkout_and_list_changes(
    Git& git, const std::string& previous, const std::string& sha) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  auto [order, checkout_error, diff_error, changed] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, git.checkout(sha), asio::deferred),
          asio::co_spawn(executor, git.changed_files(previous, sha), asio::deferred))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  if (checkout_error) std::rethrow_exception(checkout_error);
  if (diff_error) std::rethrow_exception(diff_error);
  co_return std::move(changed);
}

// Writes the changed paths, one per line. Not fsynced: like the run log it is evidence, and a
// re-run after a crash writes it again.
std::error_code write_changed(const std::filesystem::path& file,
                              const std::vector<std::string>& paths) {
  std::string text;
  for (const auto& p : paths) text += p + "\n";
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return {errno, std::generic_category()};
  if (const std::error_code ec = common::write_all(fd, text)) {
    ::close(fd);
    return ec;
  }
  if (::close(fd) != 0) return {errno, std::generic_category()};
  return {};
}

// A full disk (ENOSPC, EDQUOT) or an I/O error while writing a run's own files (its run log, its
// .changed list) is a condition of the machine, not of the entry: the run waits for space with
// its entry in active/ (retry_while_passing) instead of failing it or, for the run log, throwing
// out of the deployer's loop into a crash loop. Other errors (a symbolic link planted at the
// name: ELOOP) fail as before.
boost::asio::awaitable<std::unique_ptr<RunLog>> open_run_log(Context& context,
                                                             const std::filesystem::path& file) {
  std::unique_ptr<RunLog> log;
  auto open = [&]() -> std::error_code {
    try {
      log = std::make_unique<RunLog>(file);
      return {};
    } catch (const std::system_error& e) {
      if (!common::transient_disk_error(e.code())) throw;
      return e.code();
    }
  };
  std::vector<common::log::Field> fields{{"file", file.string()}};
  co_await retry_while_passing(context, "cannot create the run log, retrying", std::move(fields),
                               open, common::transient_disk_error);
  co_return log;
}

boost::asio::awaitable<void> write_changed_waiting(Context& context,
                                                   const std::filesystem::path& file,
                                                   const std::vector<std::string>& paths) {
  std::vector<common::log::Field> fields{{"file", file.string()}};
  auto ec = co_await retry_while_passing(
      context, "cannot write the changed-files list, retrying", std::move(fields),
      [&] { return write_changed(file, paths); }, common::transient_disk_error);
  if (ec)
    throw DeployFailure("changed files", "cannot write " + file.string() + ": " + ec.message());
}

// Records an entry that is not deployed (superseded, stale, skipped) and moves it to done/; its
// GitHub deployment ends in error with `github_description`.
boost::asio::awaitable<void> skip_entry(Context& context, RunLog& log, const std::string& name,
                                        const common::Push& push, ledger::QueueState state,
                                        const std::string& reason,
                                        const std::string& github_description) {
  log.note(std::string(ledger::to_string(state)) + ": " + reason + "; not deployed");
  log.finish();
  // No other host may wait for this one to build it.
  co_await rollout_not_deployed(context, name, push.after, reason);
  co_await with_ledger(context, "mark", [&] {
    context.ledger.mark(context.ledger_name, name, state, reason, push.after, push.ref);
  });
  common::log::info("entry not deployed", {{"deployment", context.deployment.name},
                                           {"entry", name},
                                           {"sha", push.after},
                                           {"decision", ledger::to_string(state)},
                                           {"reason", reason}});
  github_status(context, name, push, common::DeploymentState::error, github_description);
  co_await move_durably(context, context.active, context.done, name);
  prune(context);
}

// A run of a rollout that was superseded before this host switched: its release (if built) is
// discarded and the run recorded superseded; nothing live changed.
boost::asio::awaitable<void> not_switched(Context& context, RunState& state,
                                          const std::string& reason) {
  const common::Push& push = state.push();
  if (state.layout) co_await discard_release(context, state, reason);
  state.log->note("superseded: " + reason + "; not deployed");
  state.log->finish();
  co_await with_ledger(context, "finish_run", [&] {
    context.ledger.finish_run(*state.run, ledger::RunOutcome::superseded, reason);
  });
  common::log::info("entry not deployed", {{"deployment", context.deployment.name},
                                           {"entry", state.name},
                                           {"sha", push.after},
                                           {"decision", "superseded"},
                                           {"reason", reason}});
  github_status(context, state.name, push, common::DeploymentState::error,
                "superseded: the rollout did not reach every host", state.run);
  co_await move_durably(context, context.active, context.done, state.name);
  prune(context);
}

// The DEPLOY_* variables of this run's steps, preflight and activate steps.
DeployVars vars_of(const Context& context, const RunState& state) {
  DeployVars vars{context.deployment.name,    state.push().after, state.deployed.sha.value_or(""),
                  state.push().ref,           state.delivery_id,  state.name,
                  state.changed_file.string()};
  if (state.layout) {
    vars.release_mode = true;
    vars.release_dir = state.layout->release(state.release).string();
    vars.previous_release_dir =
        state.live_before ? state.layout->release(*state.live_before).string() : std::string();
    vars.root = state.layout->root().string();
  }
  return vars;
}

// --- The stages ---------------------------------------------------------------------------------

// take: the entry read (a broken one goes to failed/), a rollback's target found, the ledger
// claim, the run log opened, coalescing. Nullopt when the entry was set aside.
boost::asio::awaitable<std::optional<RunState>> take(Context& context, const std::string& name) {
  const common::Deployment& deployment = context.deployment;
  auto taken = read_push(context.active, name, context);
  if (!taken.ok()) {
    co_await reject_entry(context, context.active, name, taken.error().message);
    co_return std::nullopt;
  }
  RunState state;
  state.name = name;
  state.taken = std::move(taken.value());
  if (state.taken.rollback) {
    // The commit a rollback deploys is its target release's: found before the claim, which
    // records it.
    const common::ReleaseLayout layout(deployment.path);
    std::error_code ec;
    const auto live = layout.live(ec);
    // A rollback run again after a crash keeps the target its first run chose (and claimed):
    // "the release before the live one" may already be live and must not step back further.
    auto to = state.taken.rollback->to;
    const auto item = co_await with_ledger(context, "queue_item", [&] {
      return context.ledger.queue_item(context.ledger_name, name);
    });
    if (item && item->state == ledger::QueueState::running && common::valid_sha(item->sha)) {
      to = item->sha;
    }
    auto target = common::rollback_target(layout, to, live);
    if (!target.ok()) {
      co_await reject_entry(context, context.active, name, "rollback: " + target.error().message,
                            "", state.taken.push.ref);
      co_return std::nullopt;
    }
    state.release = *target;
    state.taken.push.after = layout.revision(state.release);
  }
  const common::Entry& entry = state.taken.entry;
  const common::Push& push = state.taken.push;
  if (entry.meta.id) {
    state.delivery = ledger::DeliveryKey{entry.meta.hook_id.value_or(""), *entry.meta.id};
  }
  state.delivery_id = entry.meta.id.value_or("");
  state.trigger = co_await with_ledger(context, "claim", [&] {
    return context.ledger.claim(context.ledger_name, name, push.after, push.ref, state.delivery);
  });
  if (deployment.retry) {
    const auto item = co_await with_ledger(context, "queue_item", [&] {
      return context.ledger.queue_item(context.ledger_name, name);
    });
    if (item) state.attempt = item->attempt;
  }
  common::log::info("entry taken", {{"deployment", deployment.name},
                                    {"entry", name},
                                    {"delivery", state.delivery_id},
                                    {"sha", push.after},
                                    {"ref", push.ref},
                                    {"trigger", ledger::to_string(state.trigger)}});
  const auto log_file = context.logs / (name + ".log");
  // An earlier run of this entry that never wrote its ending (the deployer was stopped or
  // killed): say so, or the log shows two starts and nothing between.
  const bool resumed = run_left_unfinished(log_file);
  state.log = co_await open_run_log(context, log_file);
  if (resumed) {
    state.log->note(
        "the run above was interrupted (the deployer stopped or was killed): "
        "running the entry again");
  }
  if (state.taken.rollback) {
    state.log->note("run started: rollback to release " + state.release + " (" + push.after +
                    "), requested by " + state.taken.rollback->requested_by);
  } else {
    state.log->note(
        "run started: " + push.ref + " at " + push.after + ", trigger " +
        std::string(ledger::to_string(state.trigger)) +
        (state.delivery_id.empty() ? std::string() : ", delivery " + state.delivery_id) +
        (state.attempt > 1 ? ", attempt " + std::to_string(state.attempt) : std::string()));
  }
  if (state.trigger == ledger::Trigger::webhook && deployment.coalesce) {
    if (auto superseded = co_await superseding_push(context, *state.log, name, push)) {
      co_await skip_entry(context, *state.log, name, push, ledger::QueueState::superseded,
                          superseded->reason, "superseded by " + short_sha(superseded->by_sha));
      co_return std::nullopt;
    }
  }
  co_return std::move(state);
}

// prepare: git ready (the clone, or release mode's layout and store), the commit fetched, the
// staleness rule (staleness.hpp), the path filters (path_filter.hpp), the run started, commit
// status pending. False when the entry was recorded stale or skipped instead.
boost::asio::awaitable<bool> prepare(Context& context, RunState& state) {
  const common::Deployment& deployment = context.deployment;
  const common::Push& push = state.push();
  if (deployment.releases) {
    co_await prepare_release(context, state);
  } else {
    state.git = std::make_unique<Git>(deployment.path, context.base_env, *state.log, context.stop,
                                      false, deployment.run_as);
    co_await state.git->require_repository();
  }
  state.deployed = co_await with_ledger(context, "deployed_state", [&] {
    return context.ledger.deployed_state(context.ledger_name);
  });
  if (!state.is_rollback_entry())
    co_await state.git->fetch(deployment.remote, push.ref, push.after);
  const bool webhook = state.trigger == ledger::Trigger::webhook;
  const auto judgement =
      co_await judge_push(*state.git, deployment.remote, push, webhook, state.deployed);
  if (!judgement.deploy) {
    co_await skip_entry(context, *state.log, state.name, push, ledger::QueueState::stale,
                        judgement.reason, "not deployed: " + judgement.reason);
    co_return false;
  }
  if (webhook) {
    if (auto reason = co_await skip_reason(*state.git, deployment, push, state.deployed.sha)) {
      co_await skip_entry(context, *state.log, state.name, push, ledger::QueueState::skipped,
                          *reason, "not deployed: " + *reason);
      co_return false;
    }
  }
  if (webhook && deployment.wait_for_checks) {
    if (auto reason =
            co_await wait_for_checks(context, *state.log, state.taken.entry, state.name, push)) {
      co_await skip_entry(context, *state.log, state.name, push, ledger::QueueState::superseded,
                          *reason, *reason);
      co_return false;
    }
  }
  state.rollback_high_water = judgement.rollback_high_water;
  if (state.is_rollback()) {
    state.log->note("a rollback: " + push.after + " is older than the deployed commit " +
                    state.deployed.sha.value_or("(none)"));
  }
  state.run = co_await with_ledger(context, "start_run", [&] {
    return context.ledger.start_run(context.ledger_name, state.name, push.after, push.ref,
                                    state.deployed.sha, state.delivery);
  });
  context.status(push.after, StatusState::pending,
                 "Deploying " + short_sha(push.after) + " to " + deployment.name, state.name);
  github_status(context, state.name, push, common::DeploymentState::in_progress,
                "Deploying " + short_sha(push.after), state.run);
  co_return true;
}

// build: the commit checked out and the changed paths listed, then the steps (in place: in the
// deployment's path; release mode: a new release folder, see release.hpp). A rollback entry
// builds nothing: its release is complete already.
boost::asio::awaitable<void> build(Context& context, RunState& state) {
  if (state.is_rollback_entry()) {
    state.log->note("rollback: release " + state.release + " is complete, nothing to build");
    co_return;
  }
  const common::Push& push = state.push();
  if (state.layout) {
    for (const auto& gone : co_await clean_incomplete_releases(context, state)) {
      state.log->note("removed the incomplete release " + gone + " of an interrupted run");
      co_await with_ledger(context, "release_removed",
                           [&] { context.ledger.release_removed(context.ledger_name, gone); });
    }
    state.release = name_new_release(state);
  }
  const std::string previous = state.deployed.sha.value_or("");
  if (state.layout) {
    state.changed = co_await state.git->changed_files(previous, push.after);
  } else {
    state.changed = co_await checkout_and_list_changes(*state.git, previous, push.after);
  }
  state.changed_file = context.logs / (state.name + ".changed");
  co_await write_changed_waiting(context, state.changed_file, state.changed);
  state.log->note(std::to_string(state.changed.size()) + " changed path(s) since " +
                  (previous.empty() ? std::string("the beginning") : short_sha(previous)) +
                  ", listed in " + state.changed_file.string());

  const ledger::RunId run_id = *state.run;
  StepRecorder record = [&context,
                         run_id](const StepReport& report) -> boost::asio::awaitable<void> {
    co_await with_ledger(context, "record_step", [&] {
      context.ledger.record_step(run_id, report.index, report.name, to_ledger(report.result),
                                 report.exit_code, report.duration);
    });
  };
  const DeployVars vars = vars_of(context, state);
  if (state.layout) {
    co_await build_release(context, state, vars, record);
  } else {
    // Named, never a braced temporary inside co_await: GCC 12 destroys such a temporary twice.
    const StepsInput input{context.deployment, vars, state.changed, context.base_env};
    co_await run_steps(input, *state.log, context.stop, record);
    if (has_site(context.deployment)) {
      co_await install_site(context, *state.log, context.deployment.path);
    }
  }
}

// switch, activate, verify: release mode only (in place the checkout was the switch).
boost::asio::awaitable<void> switch_live(Context& context, RunState& state) {
  if (state.layout) co_await switch_release(context, state);
}

boost::asio::awaitable<void> activate(Context& context, RunState& state) {
  if (!state.layout) co_return;
  // The certificates and the nginx site of the release now live, before its processes start: a
  // failure from here on reverts the site with the release (revert_release).
  if (has_site(context.deployment)) {
    co_await install_site(context, *state.log, state.layout->release(state.release));
  }
  if (context.deployment.activate.empty()) co_return;
  const DeployVars vars = vars_of(context, state);
  co_await run_activate(context, state, vars,
                        static_cast<int>(context.deployment.steps.size() + 1));
}

boost::asio::awaitable<void> verify(Context& context, RunState& state) {
  if (!state.layout || !context.deployment.health_check) co_return;
  co_await run_health_check(*context.deployment.health_check, state.push().after, *state.log,
                            context.stop);
}

// A shutdown in the middle: the entry stays in active/ and runs again at the next start.
void interrupted(Context& context, RunState& state) {
  state.log->note(
      "stopped by shutdown: the entry stays in active/ and runs again at the next start");
  state.log->finish();
  if (state.run) {
    // Best effort and without waiting: shutdown must be prompt, and start_run closes an
    // unfinished run as interrupted anyway when the entry runs again.
    try {
      context.ledger.finish_run(*state.run, ledger::RunOutcome::interrupted, "deployer stopped");
    } catch (const std::exception& e) {
      common::log::warn(
          "could not record the interrupted run",
          {{"deployment", context.deployment.name}, {"entry", state.name}, {"error", e.what()}});
    }
  }
  common::log::warn("deploy interrupted by shutdown: the entry stays in active/",
                    {{"deployment", context.deployment.name}, {"entry", state.name}});
}

// finish, success: releases kept per `keep`, a rollback recorded, the outcome, done/.
// The outcome goes to the ledger before the entry leaves active/: a crash in between re-runs a
// finished deploy (harmless), where the other order could leave a moved entry "running" forever.
boost::asio::awaitable<void> succeed(Context& context, RunState& state) {
  const common::Deployment& deployment = context.deployment;
  const common::Push& push = state.push();
  const std::string elapsed = seconds_text(RunState::Clock::now() - state.started);
  if (state.layout) co_await retain_releases(context, state);
  if (state.is_rollback()) {
    ledger::RollbackRecord rollback;
    rollback.deployment = context.ledger_name;
    rollback.run = state.run;
    rollback.kind = ledger::RollbackKind::operator_;
    rollback.from_sha = state.deployed.sha;
    rollback.to_sha = push.after;
    rollback.from_release = state.live_before;
    if (state.layout) rollback.to_release = state.release;
    rollback.high_water_sha = state.rollback_high_water;
    rollback.reason = state.is_rollback_entry()
                          ? "deployctl rollback by " + state.taken.rollback->requested_by
                          : "operator's entry of an older commit";
    co_await with_ledger(context, "record_rollback",
                         [&] { context.ledger.record_rollback(rollback); });
  }
  state.log->note((state.is_rollback() ? "rollback succeeded in " : "deploy succeeded in ") +
                  elapsed);
  state.log->finish();
  co_await with_ledger(context, "finish_run", [&] {
    context.ledger.finish_run(*state.run, ledger::RunOutcome::succeeded);
  });
  context.status(push.after, StatusState::success,
                 "Deployed to " + deployment.name + " in " + elapsed, state.name);
  std::string done = state.is_rollback() ? "Rolled back to " + short_sha(push.after) : "Deployed";
  if (state.rollout) done += " on " + std::to_string(deployment.hosts.size()) + " hosts";
  github_status(context, state.name, push, common::DeploymentState::success,
                done + " in " + elapsed, state.run);
  if (state.is_rollback()) {
    // The deploy this rollback replaced is not what the environment runs any more.
    if (auto replaced = co_await live_before(context, state.run)) {
      github_status_of(context, *replaced, common::DeploymentState::inactive,
                       "rolled back to " + short_sha(push.after));
    }
  }
  common::log::info("deploy succeeded", {{"deployment", deployment.name},
                                         {"entry", state.name},
                                         {"delivery", state.delivery_id},
                                         {"sha", push.after},
                                         {"release", state.release},
                                         {"duration", elapsed}});
  co_await notify_outcome(context, state.taken.entry, push, "succeeded",
                          RunState::Clock::now() - state.started, state.run);
  co_await move_durably(context, context.active, context.done, state.name);
  prune(context);
}

// When the failed attempt is to be tried again (retry.hpp): the time the next one is due.
std::optional<std::chrono::system_clock::time_point> next_attempt(const Context& context,
                                                                  RunState& state,
                                                                  const DeployFailure& failure) {
  const auto& retry = context.deployment.retry;
  if (!retry || !retryable(*retry, failure)) return std::nullopt;
  if (state.rollout) {
    state.log->note("not retried: a failed rollout is not retried automatically");
    return std::nullopt;
  }
  if (state.attempt > static_cast<int>(retry->attempts)) {
    state.log->note("not retried: " + std::to_string(retry->attempts) + " automatic retr" +
                    (retry->attempts == 1 ? "y" : "ies") + " already made");
    return std::nullopt;
  }
  if (auto newer = newer_entry(context)) {
    state.log->note("not retried: the newer entry " + *newer + " waits in the queue");
    return std::nullopt;
  }
  return std::chrono::system_clock::now() + retry_delay(*retry, state.attempt + 1);
}

// The failed attempt recorded and its log set aside; the entry stays in active/ for the next.
// The ledger first: a crash before it re-runs this attempt, appending to the same log.
boost::asio::awaitable<void> retry_later(Context& context, RunState& state,
                                         const std::string& error, const std::string& elapsed,
                                         std::chrono::system_clock::time_point due) {
  const int next = state.attempt + 1;
  state.log->note("attempt " + std::to_string(state.attempt) + " failed after " + elapsed + ": " +
                  error + "; attempt " + std::to_string(next) + " at " +
                  common::utc_timestamp_ms(due));
  state.log->finish();
  co_await with_ledger(context, "retry_later", [&] {
    context.ledger.retry_later(context.ledger_name, state.name, state.run, error, next, due);
  });
  std::error_code ec;
  std::filesystem::rename(state.log->path(), attempt_log(context.logs, state.name, state.attempt),
                          ec);
  common::log::warn("deploy failed, retrying later",
                    {{"deployment", context.deployment.name},
                     {"entry", state.name},
                     {"delivery", state.delivery_id},
                     {"sha", state.push().after},
                     {"attempt", state.attempt},
                     {"next_attempt_at", common::utc_timestamp_ms(due)},
                     {"error", error}});
  if (ec) {
    common::log::warn("cannot keep the failed attempt's log apart: the next one appends to it",
                      {{"deployment", context.deployment.name},
                       {"file", state.log->path().string()},
                       {"error", ec.message()}});
  }
}

// finish, failure: in release mode `current` goes back (revert) or the unfinished release is
// discarded; then, when the deployment's "retry" allows, the next attempt is scheduled and true
// returned; else the outcome, the error report, failed/.
boost::asio::awaitable<bool> fail(Context& context, RunState& state, const DeployFailure& failure) {
  const common::Deployment& deployment = context.deployment;
  const common::Push& push = state.push();
  std::string error = failure.what();
  bool rolled_back = false;
  // First, so that no other host switches while this one goes back.
  co_await rollout_failed(context, state, failure);
  if (state.layout && state.switched) {
    const std::string back = co_await revert_release(context, state, failure.what());
    error += "; " + back;
    rolled_back = !state.switched;  // revert_release clears it once `current` is back
    if (failure.stage == "rollout") co_await rollout_rolled_back(context, state, back);
  } else if (state.layout) {
    co_await discard_release(context, state, failure.what());
    if (state.built) error += "; current unchanged";
  }
  const std::string elapsed = seconds_text(RunState::Clock::now() - state.started);
  if (const auto due = next_attempt(context, state, failure)) {
    co_await retry_later(context, state, error, elapsed, *due);
    co_return true;
  }
  state.log->note("deploy failed after " + elapsed + ": " + error);
  state.log->finish();
  if (state.run) {
    co_await with_ledger(context, "finish_run", [&] {
      context.ledger.finish_run(*state.run, ledger::RunOutcome::failed, error);
    });
  } else {
    co_await with_ledger(context, "mark", [&] {
      context.ledger.mark(context.ledger_name, state.name, ledger::QueueState::failed, error,
                          push.after, push.ref);
    });
  }
  context.status(push.after, StatusState::failure,
                 "Deploy to " + deployment.name + " failed: " + error, state.name);
  if (rolled_back) {
    // Rolled back: this deploy failed and is not live; the one before it is live again.
    const std::string why = "rolled back: " + failure.stage + " failed";
    github_status(context, state.name, push, common::DeploymentState::failure, why, state.run);
    github_status_of(context, state.name, common::DeploymentState::inactive, why);
    if (auto restored = co_await live_before(context, state.run)) {
      github_status_of(context, *restored, common::DeploymentState::success,
                       "live again: the rollback of " + short_sha(push.after));
    }
  } else {
    github_status(context, state.name, push, failed_state(failure.stage), error, state.run);
  }
  common::log::warn("deploy failed", {{"deployment", deployment.name},
                                      {"entry", state.name},
                                      {"delivery", state.delivery_id},
                                      {"sha", push.after},
                                      {"error", error}});
  co_await notify_outcome(context, state.taken.entry, push, rolled_back ? "rolled_back" : "failed",
                          RunState::Clock::now() - state.started, state.run, error);
  FailureReport report;
  report.entry = state.name;
  report.deployment = deployment.name;
  report.sha = push.after;
  report.ref = push.ref;
  report.stage = failure.stage;
  if (failure.stage.starts_with("step ")) report.step = failure.stage.substr(5);
  report.exit_code = failure.exit_code;
  report.reason = error.substr(failure.stage.size() + 2);
  report.output_tail = failure.output_tail;
  report.log = state.log->path();
  // The report first, then the move: an entry in failed/ never lacks its reason.
  co_await publish_failure_durably(context, report);
  co_await move_durably(context, context.active, context.failed, state.name);
  co_return false;
}

// A retrying entry whose back-off a newer entry ended: the last attempt's failure stands.
boost::asio::awaitable<void> end_retries(Context& context, const ledger::QueueItem& item,
                                         const std::string& newer) {
  const common::Deployment& deployment = context.deployment;
  const std::string error = item.reason + "; not retried: the newer entry " + newer + " arrived";
  auto log = co_await open_run_log(context, context.logs / (item.entry_name + ".log"));
  log->note("retries ended: the newer entry " + newer + " arrived; the failure stands");
  log->finish();
  co_await with_ledger(context, "mark", [&] {
    context.ledger.mark(context.ledger_name, item.entry_name, ledger::QueueState::failed, error);
  });
  context.status(item.sha, StatusState::failure,
                 "Deploy to " + deployment.name + " failed: " + error, item.entry_name);
  common::log::warn("deploy failed", {{"deployment", deployment.name},
                                      {"entry", item.entry_name},
                                      {"sha", item.sha},
                                      {"error", error}});
  FailureReport report;
  report.entry = item.entry_name;
  report.deployment = deployment.name;
  report.sha = item.sha;
  report.ref = item.ref;
  // The recorded error is "<stage>: <reason>" (DeployFailure::what()).
  const auto colon = item.reason.find(": ");
  report.stage = colon == std::string::npos ? "retry" : item.reason.substr(0, colon);
  report.reason = error.substr(colon == std::string::npos ? 0 : colon + 2);
  report.log = log->path();
  github_status_of(context, item.entry_name, failed_state(report.stage), error);
  // Announced like any failure. The entry, still in active/, gives the commit's subject and
  // author (its commit may not be fetched yet: the failed attempts were what fetches it).
  common::Entry data;
  std::string text;
  if (!queue_layout::read_entry(context.active, item.entry_name, context.max_entry_bytes(), text)) {
    if (auto parsed = common::parse_entry(text); parsed.ok()) data = std::move(parsed.value());
  }
  common::Push push;
  push.after = item.sha;
  push.ref = item.ref;
  co_await notify_outcome(context, data, push, "failed",
                          std::chrono::system_clock::now() - item.created_at, std::nullopt, error);
  co_await publish_failure_durably(context, report);
  co_await move_durably(context, context.active, context.failed, item.entry_name);
}

// Before each attempt: an entry `retrying` waits for its due time (retry.hpp), also after a
// restart. False when a newer entry ended the retries instead (the entry is in failed/).
boost::asio::awaitable<bool> await_attempt(Context& context, const std::string& name) {
  const auto item = co_await with_ledger(
      context, "queue_item", [&] { return context.ledger.queue_item(context.ledger_name, name); });
  if (!item || item->state != ledger::QueueState::retrying || !item->next_attempt_at) {
    co_return true;
  }
  common::log::info("waiting for the next attempt",
                    {{"deployment", context.deployment.name},
                     {"entry", name},
                     {"attempt", item->attempt},
                     {"at", common::utc_timestamp_ms(*item->next_attempt_at)}});
  if (const auto newer = co_await wait_for_attempt(context, *item->next_attempt_at)) {
    co_await end_retries(context, *item, *newer);
    co_return false;
  }
  co_return true;
}

// One attempt at the entry; true when it failed and the next attempt is scheduled.
boost::asio::awaitable<bool> run_attempt(Context& context, const std::string& name) {
  auto state = co_await take(context, name);
  if (!state) co_return false;
  std::optional<DeployFailure> failure;
  bool stopped = false;
  // co_await is not allowed in a handler: the catch blocks only note what happened.
  try {
    if (!co_await prepare(context, *state)) co_return false;
    if (auto superseded = co_await join_rollout(context, *state)) {
      co_await not_switched(context, *state, *superseded);
      co_return false;
    }
    co_await build(context, *state);
    if (auto superseded = co_await await_switch_turn(context, *state)) {
      co_await not_switched(context, *state, *superseded);
      co_return false;
    }
    co_await switch_live(context, *state);
    co_await activate(context, *state);
    co_await verify(context, *state);
    co_await await_fleet(context, *state);
  } catch (const DeployFailure& e) {
    failure = e;
  } catch (const Stopped&) {
    stopped = true;
  }
  if (stopped) {
    interrupted(context, *state);
    throw Stopped();
  }
  if (failure) co_return co_await fail(context, *state, *failure);
  co_await succeed(context, *state);
  co_return false;
}

}  // namespace

boost::asio::awaitable<void> deploy_entry(Context& context, const std::string& name) {
  // Bounded: every pass but the last is a failed attempt the ledger counts, and "retry" allows
  // at most 10 of them. (Not `for (;;)` with co_return inside: GCC 12 compiles that coroutine
  // into one that traps, SIGILL, when it starts.)
  bool again = true;
  while (again) {
    if (!co_await await_attempt(context, name)) break;
    again = co_await run_attempt(context, name);
  }
}

void prune(const Context& context) {
  const auto& retention = context.config.retention;
  auto result = queue_layout::prune_done(
      context.done, std::chrono::duration_cast<std::chrono::nanoseconds>(retention.done_max_age()),
      static_cast<std::size_t>(retention.done_max_count));
  if (result.error) {
    common::log::warn("cannot prune done/", {{"deployment", context.deployment.name},
                                             {"folder", context.done.string()},
                                             {"error", result.error.message()}});
  }
  // Run logs follow their entries: a log is removed once its entry is in no folder any more
  // (pruned from done/). Logs of failed entries stay with them until a person acts.
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(context.logs, ec)) {
    const std::string entry = log_owner(file.path().filename().string());
    if (entry.empty()) continue;
    if (queue_layout::exists(context.queue, entry) || queue_layout::exists(context.active, entry) ||
        queue_layout::exists(context.done, entry) || queue_layout::exists(context.failed, entry)) {
      continue;
    }
    std::error_code remove_ec;
    std::filesystem::remove(file.path(), remove_ec);
  }
}

}  // namespace deployer
