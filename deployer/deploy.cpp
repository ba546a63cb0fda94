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

#include "common/write_all.hpp"
#include "deployer/git.hpp"
#include "deployer/intake.hpp"
#include "deployer/moves.hpp"
#include "deployer/run_log.hpp"
#include "deployer/steps.hpp"
#include "queue-layout/name.hpp"
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

// The newest webhook push of this deployment waiting in the queue after `entry`, if any.
boost::asio::awaitable<std::optional<std::string>> newer_webhook_push(Context& context,
                                                                      const std::string& entry) {
  queue_layout::Listing listing;
  if (queue_layout::list_entries(context.queue, listing)) co_return std::nullopt;
  for (auto it = listing.entries.rbegin(); it != listing.entries.rend() && *it > entry; ++it) {
    const std::string& candidate = *it;
    auto item = co_await with_ledger(context, "queue_item", [&] {
      return context.ledger.queue_item(context.deployment.name, candidate);
    });
    if (item && item->state == ledger::QueueState::queued &&
        item->trigger == ledger::Trigger::webhook) {
      co_return candidate;
    }
  }
  co_return std::nullopt;
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
      if (!transient_disk_error(e.code())) throw;
      return e.code();
    }
  };
  std::vector<common::log::Field> fields{{"file", file.string()}};
  co_await retry_while_passing(context, "cannot create the run log, retrying", std::move(fields),
                               open, transient_disk_error);
  co_return log;
}

boost::asio::awaitable<void> write_changed_waiting(Context& context,
                                                   const std::filesystem::path& file,
                                                   const std::vector<std::string>& paths) {
  std::vector<common::log::Field> fields{{"file", file.string()}};
  auto ec = co_await retry_while_passing(
      context, "cannot write the changed-files list, retrying", std::move(fields),
      [&] { return write_changed(file, paths); }, transient_disk_error);
  if (ec)
    throw DeployFailure("changed files", "cannot write " + file.string() + ": " + ec.message());
}

// Records an entry that is not deployed (superseded, stale) and moves it to done/.
boost::asio::awaitable<void> skip_entry(Context& context, RunLog& log, const std::string& name,
                                        const common::Push& push, ledger::QueueState state,
                                        const std::string& reason) {
  log.note(std::string(ledger::to_string(state)) + ": " + reason + "; not deployed");
  log.finish();
  co_await with_ledger(context, "mark", [&] {
    context.ledger.mark(context.deployment.name, name, state, reason, push.after, push.ref);
  });
  common::log::info("entry not deployed", {{"deployment", context.deployment.name},
                                           {"entry", name},
                                           {"sha", push.after},
                                           {"decision", ledger::to_string(state)},
                                           {"reason", reason}});
  co_await move_durably(context, context.active, context.done, name);
  prune(context);
}

}  // namespace

boost::asio::awaitable<void> deploy_entry(Context& context, const std::string& name) {
  const common::Deployment& deployment = context.deployment;
  auto taken = read_push(context.active, name, context);
  if (!taken.ok()) {
    co_await reject_entry(context, context.active, name, taken.error().message);
    co_return;
  }
  const common::Entry& entry = taken->entry;
  const common::Push& push = taken->push;
  std::optional<ledger::DeliveryKey> delivery;
  if (entry.meta.id)
    delivery = ledger::DeliveryKey{entry.meta.hook_id.value_or(""), *entry.meta.id};
  const std::string delivery_id = entry.meta.id.value_or("");

  auto trigger = co_await with_ledger(context, "claim", [&] {
    return context.ledger.claim(deployment.name, name, push.after, push.ref, delivery);
  });
  const bool webhook = trigger == ledger::Trigger::webhook;
  common::log::info("entry taken", {{"deployment", deployment.name},
                                    {"entry", name},
                                    {"delivery", delivery_id},
                                    {"sha", push.after},
                                    {"ref", push.ref},
                                    {"trigger", ledger::to_string(trigger)}});

  const auto run_log = co_await open_run_log(context, context.logs / (name + ".log"));
  RunLog& log = *run_log;
  log.note("run started: " + push.ref + " at " + push.after + ", trigger " +
           std::string(ledger::to_string(trigger)) +
           (delivery_id.empty() ? std::string() : ", delivery " + delivery_id));

  if (webhook && deployment.coalesce) {
    if (auto newer = co_await newer_webhook_push(context, name)) {
      co_await skip_entry(context, log, name, push, ledger::QueueState::superseded,
                          "superseded by the newer push " + *newer);
      co_return;
    }
  }

  const auto started = Clock::now();
  std::optional<DeployFailure> failure;
  bool stopped = false;
  bool skipped = false;
  std::optional<ledger::RunId> run;
  std::optional<std::string> previous;
  // co_await is not allowed in a handler: the catch blocks only note what happened.
  try {
    Git git(deployment.path, context.base_env, log, context.stop);
    co_await git.require_repository();
    previous = co_await with_ledger(context, "last_deployed_sha", [&] {
      return context.ledger.last_deployed_sha(deployment.name);
    });
    if (webhook && previous) {
      // Asked before the fetch: when both commits are here (a replay, a redelivery, a clone
      // kept up to date), git's answer also proves the commit present and the fetch costs
      // nothing. Otherwise it is asked again once the commit has been fetched.
      std::optional<bool> stale = *previous == push.after;
      if (!*stale) stale = co_await git.is_ancestor(push.after, *previous);
      co_await git.fetch(deployment.remote, push.ref, push.after);
      if (!stale) stale = (co_await git.is_ancestor(push.after, *previous)).value_or(false);
      if (*stale) {
        skipped = true;
        co_await skip_entry(context, log, name, push, ledger::QueueState::stale,
                            "commit " + short_sha(push.after) +
                                (*previous == push.after ? " is" : " is an ancestor of") +
                                " the deployed commit " + short_sha(*previous));
      }
    } else {
      co_await git.fetch(deployment.remote, push.ref, push.after);
    }
    if (!skipped) {
      run = co_await with_ledger(context, "start_run", [&] {
        return context.ledger.start_run(deployment.name, name, push.after, push.ref, previous,
                                        delivery);
      });
      context.status(push.after, StatusState::pending,
                     "Deploying " + short_sha(push.after) + " to " + deployment.name, name);
      auto changed = co_await checkout_and_list_changes(git, previous.value_or(""), push.after);
      const auto changed_file = context.logs / (name + ".changed");
      co_await write_changed_waiting(context, changed_file, changed);
      log.note(std::to_string(changed.size()) + " changed path(s) since " +
               (previous ? short_sha(*previous) : std::string("the beginning")) + ", listed in " +
               changed_file.string());

      DeployVars vars{deployment.name, push.after, previous.value_or(""), push.ref,
                      delivery_id,     name,       changed_file.string()};
      const ledger::RunId run_id = *run;
      StepRecorder record = [&context,
                             run_id](const StepReport& report) -> boost::asio::awaitable<void> {
        co_await with_ledger(context, "record_step", [&] {
          context.ledger.record_step(run_id, report.index, report.name, to_ledger(report.result),
                                     report.exit_code, report.duration);
        });
      };
      co_await run_steps(StepsInput{deployment, vars, changed, context.base_env}, log, context.stop,
                         record);
    }
  } catch (const DeployFailure& e) {
    failure = e;
  } catch (const Stopped&) {
    stopped = true;
  }
  if (skipped && !stopped && !failure) co_return;

  if (stopped) {
    log.note("stopped by shutdown: the entry stays in active/ and runs again at the next start");
    log.finish();
    if (run) {
      // Best effort and without waiting: shutdown must be prompt, and start_run closes an
      // unfinished run as interrupted anyway when the entry runs again.
      try {
        context.ledger.finish_run(*run, ledger::RunOutcome::interrupted, "deployer stopped");
      } catch (const std::exception& e) {
        common::log::warn("could not record the interrupted run",
                          {{"deployment", deployment.name}, {"entry", name}, {"error", e.what()}});
      }
    }
    common::log::warn("deploy interrupted by shutdown: the entry stays in active/",
                      {{"deployment", deployment.name}, {"entry", name}});
    throw Stopped();
  }

  const std::string elapsed = seconds_text(Clock::now() - started);
  // The outcome goes to the ledger before the entry leaves active/: a crash in between re-runs a
  // finished deploy (harmless), where the other order could leave a moved entry "running" forever.
  if (!failure) {
    log.note("deploy succeeded in " + elapsed);
    log.finish();
    co_await with_ledger(context, "finish_run",
                         [&] { context.ledger.finish_run(*run, ledger::RunOutcome::succeeded); });
    context.status(push.after, StatusState::success,
                   "Deployed to " + deployment.name + " in " + elapsed, name);
    common::log::info("deploy succeeded", {{"deployment", deployment.name},
                                           {"entry", name},
                                           {"delivery", delivery_id},
                                           {"sha", push.after},
                                           {"duration", elapsed}});
    co_await move_durably(context, context.active, context.done, name);
    prune(context);
    co_return;
  }

  const std::string error = failure->what();
  log.note("deploy failed after " + elapsed + ": " + error);
  log.finish();
  if (run) {
    co_await with_ledger(context, "finish_run", [&] {
      context.ledger.finish_run(*run, ledger::RunOutcome::failed, error);
    });
  } else {
    co_await with_ledger(context, "mark", [&] {
      context.ledger.mark(deployment.name, name, ledger::QueueState::failed, error, push.after,
                          push.ref);
    });
  }
  context.status(push.after, StatusState::failure,
                 "Deploy to " + deployment.name + " failed: " + error, name);
  common::log::warn("deploy failed", {{"deployment", deployment.name},
                                      {"entry", name},
                                      {"delivery", delivery_id},
                                      {"sha", push.after},
                                      {"error", error}});
  FailureReport report;
  report.entry = name;
  report.deployment = deployment.name;
  report.sha = push.after;
  report.ref = push.ref;
  report.stage = failure->stage;
  if (failure->stage.starts_with("step ")) report.step = failure->stage.substr(5);
  report.exit_code = failure->exit_code;
  report.reason = failure->reason;
  report.output_tail = failure->output_tail;
  report.log = log.path();
  // The report first, then the move: an entry in failed/ never lacks its reason.
  co_await publish_failure_durably(context, report);
  co_await move_durably(context, context.active, context.failed, name);
}

void prune(const Context& context) {
  const auto& retention = context.config.retention;
  auto result = queue_layout::prune_done(
      context.done, std::chrono::duration_cast<std::chrono::nanoseconds>(retention.done_max_age()),
      static_cast<std::size_t>(retention.done_max_count));
  if (result.error) {
    common::log::warn("cannot prune done/", {{"deployment", context.deployment.name},
                                             {"dir", context.done.string()},
                                             {"error", result.error.message()}});
  }
  // Run logs follow their entries: a log is removed once its entry is in no folder any more
  // (pruned from done/). Logs of failed entries stay with them until a person acts.
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(context.logs, ec)) {
    std::string name = file.path().filename().string();
    std::string entry;
    if (name.ends_with(".log")) {
      entry = name.substr(0, name.size() - 4);
    } else if (name.ends_with(".changed")) {
      entry = name.substr(0, name.size() - 8);
    } else {
      continue;
    }
    if (!queue_layout::is_entry_name(entry)) continue;
    if (queue_layout::exists(context.queue, entry) || queue_layout::exists(context.active, entry) ||
        queue_layout::exists(context.done, entry) || queue_layout::exists(context.failed, entry)) {
      continue;
    }
    std::error_code remove_ec;
    std::filesystem::remove(file.path(), remove_ec);
  }
}

}  // namespace deployer
