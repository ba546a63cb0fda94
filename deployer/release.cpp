// release.cpp: see release.hpp.
#include "deployer/release.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <sstream>

#include "common/disk_error.hpp"
#include "common/log.hpp"
#include "common/process.hpp"
#include "deployer/errors.hpp"
#include "deployer/glob.hpp"
#include "deployer/moves.hpp"
#include "deployer/probe.hpp"
#include "deployer/run_as.hpp"
#include "deployer/site.hpp"
#include "deployer/steps.hpp"

namespace deployer {

namespace {

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 7);
}

// Ledger writes of release mode, waiting out an unavailable ledger like every other write.
boost::asio::awaitable<void> record_release(Context& context, const RunState& state,
                                            const std::string& name, const std::string& sha,
                                            ledger::ReleaseOutcome outcome,
                                            const std::string& reason = "") {
  co_await with_ledger(context, "record_release", [&] {
    context.ledger.record_release(context.ledger_name, name, sha, state.run, outcome, reason);
  });
}

// What a write into the release folders left: nothing (`message` empty) or the error, and whether
// it was a full disk or an I/O error (a condition of the machine: automatic retries apply).
struct LayoutError {
  std::string message;
  bool transient = false;
  bool failed() const { return !message.empty(); }
};

// A deploy failure of stage "releases" for a failed layout write.
[[noreturn]] void throw_layout_failure(const std::string& what, const LayoutError& error) {
  DeployFailure failure("releases", what + ": " + error.message);
  if (error.transient) throw std::move(failure).as_transient();
  throw failure;
}

// A write into the release folders (`direct`), or, with run_as, the same operation as that user,
// who owns releases/ and shared/: `deploy-step layout <root> <op...>` through sudo like a step,
// which exits with common::kTransientDiskExit for a full disk. `output` gets what the operation
// printed (run_as only).
boost::asio::awaitable<LayoutError> layout_write(Context& context, RunState& state,
                                                 const std::vector<std::string>& op,
                                                 const std::function<std::error_code()>& direct,
                                                 std::string* output = nullptr) {
  if (context.deployment.run_as.empty()) {
    const std::error_code ec = direct();
    if (!ec) co_return LayoutError{};
    co_return LayoutError{ec.message(), common::transient_disk_error(ec)};
  }
  std::vector<std::string> argv{common::default_step_supervisor().string(), "layout",
                                state.layout->root().string()};
  argv.insert(argv.end(), op.begin(), op.end());
  const common::Command command =
      deployment_command(context.deployment, std::move(argv), state.layout->root(),
                         context.base_env, std::chrono::minutes(30));
  std::string text;
  const common::OutputSink sink = [&text](std::string_view chunk) { text.append(chunk); };
  const common::Outcome outcome = co_await common::run_command(command, sink, context.stop);
  if (outcome.ending == common::Ending::stopped) throw Stopped();
  if (output != nullptr) *output = text;
  if (outcome.succeeded()) co_return LayoutError{};
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto last = text.rfind('\n');
  LayoutError error;
  error.message = (last == std::string::npos ? text : text.substr(last + 1)) + " (" +
                  outcome.describe() + ", as " + context.deployment.run_as + ")";
  error.transient =
      outcome.ending == common::Ending::exited && outcome.exit_code == common::kTransientDiskExit;
  co_return error;
}

boost::asio::awaitable<void> remove_release(Context& context, RunState& state,
                                            const std::string& name) {
  const std::vector<std::string> op{"remove", name};
  const std::function<std::error_code()> direct = [&] { return state.layout->remove(name); };
  if (auto error = co_await layout_write(context, state, op, direct); error.failed()) {
    state.log->note("cannot remove release " + name + ": " + error.message);
    common::log::warn(
        "cannot remove release",
        {{"deployment", context.deployment.name}, {"release", name}, {"error", error.message}});
    co_return;
  }
  state.log->note("release " + name + " removed");
  co_await with_ledger(context, "release_removed",
                       [&] { context.ledger.release_removed(context.ledger_name, name); });
}

// `reuse`: each folder copied from the live release when none of its lockfiles changed between
// the live commit and the new one. A copy, never hard links: a build that rewrites a file in
// place (npm does) would otherwise write into the live release and every kept one. cp
// --reflink=auto shares blocks copy-on-write where the file system can (btrfs, XFS) and copies
// them elsewhere (ext4).
boost::asio::awaitable<void> reuse_folders(Context& context, RunState& state) {
  const auto& rules = context.deployment.releases->reuse;
  if (rules.empty()) co_return;
  RunLog& log = *state.log;
  const std::string live_sha =
      state.live_before ? state.layout->revision(*state.live_before) : std::string();
  for (const auto& rule : rules) {
    const std::string label = "reuse " + rule.path;
    if (!state.live_before) {
      log.note(label + " skipped: no live release yet");
      continue;
    }
    if (live_sha.empty() || live_sha != state.deployed.sha.value_or("")) {
      // The changed paths were listed against the deployed commit; the live release must be it.
      log.note(label + " skipped: the live release is not the deployed commit");
      continue;
    }
    if (any_match(rule.unless_changed, state.changed)) {
      log.note(label + " skipped: a file of unless_changed changed");
      continue;
    }
    const auto from = state.layout->release(*state.live_before) / rule.path;
    const auto to = state.layout->release(state.release) / rule.path;
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(from, ec))) {
      log.note(label + " skipped: the live release has no " + rule.path);
      continue;
    }
    if (std::filesystem::exists(std::filesystem::symlink_status(to, ec))) {
      log.note(label + " skipped: the commit has its own " + rule.path);
      continue;
    }
    // With run_as the release is the user's: the deployer creates nothing in it (the parent
    // folder then has to come with the commit).
    if (context.deployment.run_as.empty())
      std::filesystem::create_directories(to.parent_path(), ec);
    const common::Command command = deployment_command(
        context.deployment, {"cp", "-a", "--reflink=auto", "--", from.string(), to.string()},
        state.layout->release(state.release), context.base_env, std::chrono::minutes(30));
    const common::Outcome outcome = co_await run_logged(command, log, label, context.stop);
    if (!outcome.succeeded()) {
      throw DeployFailure(label, "copying from the live release " + outcome.describe(),
                          outcome.ending == common::Ending::exited
                              ? std::optional<int>(outcome.exit_code)
                              : std::nullopt,
                          std::vector<std::string>(log.tail().begin(), log.tail().end()));
    }
    log.note(label + ": copied from release " + *state.live_before + " in " +
             std::to_string(outcome.duration.count()) + " ms");
  }
}

}  // namespace

boost::asio::awaitable<void> run_activate(Context& context, RunState& state, const DeployVars& vars,
                                          int index_base) {
  const std::vector<std::string> none;
  StepsInput input{context.deployment, vars, none, context.base_env};
  input.steps = &context.deployment.activate;
  input.cwd = state.layout->current();
  input.kind = "activate";
  input.index_base = index_base;
  const StepRecorder ignore = [](const StepReport&) -> boost::asio::awaitable<void> { co_return; };
  co_await run_steps(input, *state.log, context.stop, ignore);
}

boost::asio::awaitable<void> prepare_release(Context& context, RunState& state) {
  state.layout.emplace(context.deployment.path);
  const std::string& user = context.deployment.run_as;
  // With run_as the deployer creates only the root (its own, with `current`): the folders the
  // user builds in must be that user's.
  if (!user.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(state.layout->root(), ec);
    if (ec) {
      throw DeployFailure("releases",
                          "cannot create " + state.layout->root().string() + ": " + ec.message());
    }
    for (const auto& dir :
         {state.layout->repository(), state.layout->releases(), state.layout->shared()}) {
      if (auto error = ensure_user_folder(dir, user); !error.empty()) {
        throw DeployFailure("releases", error);
      }
    }
  } else if (auto ec = state.layout->create()) {
    throw DeployFailure("releases", "cannot create " + context.deployment.path.string() +
                                        " and its releases/ and shared/ folders: " + ec.message());
  }
  std::error_code ec;
  state.live_before = state.layout->live(ec);
  if (ec) {
    throw DeployFailure("releases",
                        state.layout->current().string() +
                            " is not a symbolic link to releases/<release>: " + ec.message());
  }
  // The good release: the live one, unless a run killed between its switch and its health check
  // left an unverified release live; then the newest release that did pass.
  state.good = state.live_before;
  if (state.live_before) {
    const auto rows = co_await with_ledger(
        context, "releases", [&] { return context.ledger.releases(context.ledger_name); });
    auto row = std::find_if(rows.begin(), rows.end(),
                            [&](const ledger::Release& r) { return r.name == *state.live_before; });
    if (row != rows.end() && row->outcome != ledger::ReleaseOutcome::deployed) {
      for (const auto& r : rows) {  // newest first
        if (r.outcome == ledger::ReleaseOutcome::deployed && !r.removed_at &&
            !state.layout->revision(r.name).empty()) {
          state.good = r.name;
          state.log->note("the live release " + *state.live_before +
                          " never passed its checks: a failure goes back to " + r.name);
          break;
        }
      }
    }
  }
  state.git = std::make_unique<Git>(state.layout->repository(), context.base_env, *state.log,
                                    context.stop, true, context.deployment.run_as);
  co_await state.git->ensure_store();
}

boost::asio::awaitable<std::vector<std::string>> clean_incomplete_releases(Context& context,
                                                                           RunState& state) {
  std::vector<std::string> removed;
  std::string printed;
  const std::vector<std::string> op{"clean-incomplete"};
  const std::function<std::error_code()> direct = [&] {
    std::error_code ec;
    removed = state.layout->clean_incomplete("", ec);
    return ec;
  };
  const LayoutError error = co_await layout_write(context, state, op, direct, &printed);
  if (!context.deployment.run_as.empty()) {
    std::istringstream lines(printed);
    for (std::string line; std::getline(lines, line);) {
      if (common::valid_release_name(line)) removed.push_back(line);
    }
  }
  if (error.failed()) state.log->note("cleaning up releases/: " + error.message);
  co_return removed;
}

std::string name_new_release(const RunState& state) {
  std::error_code ec;
  std::vector<std::string> existing;
  for (const auto& item : std::filesystem::directory_iterator(state.layout->releases(), ec)) {
    existing.push_back(item.path().filename().string());
  }
  existing.erase(
      std::remove_if(existing.begin(), existing.end(),
                     [](const std::string& n) { return !common::valid_release_name(n); }),
      existing.end());
  return common::new_release_name(existing, state.push().after, std::chrono::system_clock::now());
}

boost::asio::awaitable<void> build_release(Context& context, RunState& state,
                                           const DeployVars& vars, const StepRecorder& record) {
  RunLog& log = *state.log;
  const auto& deployment = context.deployment;
  const auto dir = state.layout->release(state.release);
  const std::vector<std::string> create_op{"create-release", state.release};
  const std::function<std::error_code()> create = [&] {
    return state.layout->create_release(state.release);
  };
  if (auto error = co_await layout_write(context, state, create_op, create); error.failed()) {
    throw_layout_failure("cannot create " + dir.string(), error);
  }
  state.built = true;
  co_await record_release(context, state, state.release, state.push().after,
                          ledger::ReleaseOutcome::building);
  log.note("release " + state.release + ": building " + state.push().after + " in " + dir.string());
  co_await state.git->checkout_into(state.push().after, dir);
  co_await reuse_folders(context, state);
  std::vector<std::string> link_op{"link-shared", state.release};
  link_op.insert(link_op.end(), deployment.releases->shared.begin(),
                 deployment.releases->shared.end());
  const std::function<std::error_code()> link = [&] {
    return state.layout->link_shared(state.release, deployment.releases->shared);
  };
  if (auto error = co_await layout_write(context, state, link_op, link); error.failed()) {
    throw_layout_failure("cannot link the shared entries into " + dir.string(), error);
  }
  if (!deployment.releases->shared.empty()) {
    log.note(std::to_string(deployment.releases->shared.size()) + " shared entr" +
             (deployment.releases->shared.size() == 1 ? "y" : "ies") + " linked from " +
             state.layout->shared().string());
  }
  StepsInput input{deployment, vars, state.changed, context.base_env};
  input.cwd = dir;
  co_await run_steps(input, log, context.stop, record);
  if (deployment.preflight) {
    PreflightInput preflight{deployment, vars, context.base_env, dir};
    co_await run_preflight(preflight, log, context.stop);
  }
  // The deployer decides what REVISION says; with run_as the user's own folder gets it through
  // that user (the ledger keeps the same commit for the release).
  const std::vector<std::string> mark_op{"mark-complete", state.release, state.push().after};
  const std::function<std::error_code()> mark = [&] {
    return state.layout->mark_complete(state.release, state.push().after);
  };
  if (auto error = co_await layout_write(context, state, mark_op, mark); error.failed()) {
    throw_layout_failure("cannot write " + (dir / "REVISION").string(), error);
  }
  co_await record_release(context, state, state.release, state.push().after,
                          ledger::ReleaseOutcome::ready);
  log.note("release " + state.release + " is complete (REVISION written)");
}

boost::asio::awaitable<void> switch_release(Context& context, RunState& state) {
  if (auto ec = state.layout->switch_to(state.release)) {
    throw DeployFailure("switch", "cannot point " + state.layout->current().string() + " at " +
                                      state.release + ": " + ec.message());
  }
  state.switched = true;
  state.log->note("current -> releases/" + state.release +
                  (state.live_before ? " (was " + *state.live_before + ")" : std::string()));
  common::log::info("release switched", {{"deployment", context.deployment.name},
                                         {"entry", state.name},
                                         {"release", state.release},
                                         {"from", state.live_before.value_or("")}});
  const auto reason =
      state.is_rollback_entry() ? ledger::SwitchReason::rollback : ledger::SwitchReason::deploy;
  co_await with_ledger(context, "record_switch", [&] {
    context.ledger.record_switch(context.ledger_name, state.run, state.live_before, state.release,
                                 reason);
  });
}

boost::asio::awaitable<std::string> revert_release(Context& context, RunState& state,
                                                   const std::string& why) {
  RunLog& log = *state.log;
  if (!state.good || *state.good == state.release) {
    log.note("no earlier release to go back to: " + state.release + " stays live");
    co_return "no earlier release to go back to";
  }
  const std::string back = *state.good;
  if (auto ec = state.layout->switch_to(back)) {
    log.note("cannot switch back to " + back + ": " + ec.message());
    co_return "switching back to " + back + " failed: " + ec.message();
  }
  state.switched = false;
  log.note("current -> releases/" + back + " again (rolled back: " + why + ")");
  common::log::warn("release rolled back", {{"deployment", context.deployment.name},
                                            {"entry", state.name},
                                            {"release", state.release},
                                            {"to", back},
                                            {"reason", why}});
  co_await with_ledger(context, "record_switch", [&] {
    context.ledger.record_switch(context.ledger_name, state.run, state.release, back,
                                 ledger::SwitchReason::revert);
  });
  const std::string back_sha = state.layout->revision(back);
  ledger::RollbackRecord rollback;
  rollback.deployment = context.ledger_name;
  rollback.run = state.run;
  rollback.kind = ledger::RollbackKind::automatic;
  rollback.from_sha = state.push().after;
  rollback.to_sha = back_sha;
  rollback.from_release = state.release;
  rollback.to_release = back;
  rollback.reason = why;
  co_await with_ledger(context, "record_rollback",
                       [&] { context.ledger.record_rollback(rollback); });

  std::string result = "rolled back to release " + back;
  // Its nginx site goes back with it (the failed release's may be installed already).
  try {
    co_await reinstall_nginx_site(context, log, state.layout->release(back));
  } catch (const DeployFailure& e) {
    result += ", but its nginx site could not be installed again (" + std::string(e.what()) + ")";
  }
  // The old release's processes must run again (the activate steps may have reloaded PM2 with
  // the failed one): the same activate steps, in `current`, now the old release.
  if (!context.deployment.activate.empty()) {
    DeployVars vars;
    vars.deployment = context.deployment.name;
    vars.sha = back_sha;
    vars.previous_sha = state.push().after;
    vars.ref = state.push().ref;
    vars.delivery = state.delivery_id;
    vars.entry = state.name;
    vars.changed_files = state.changed_file.string();
    vars.release_mode = true;
    vars.release_dir = state.layout->release(back).string();
    vars.previous_release_dir = state.layout->release(back).string();
    vars.root = state.layout->root().string();
    try {
      co_await run_activate(context, state, vars,
                            static_cast<int>(context.deployment.steps.size() +
                                             context.deployment.activate.size() + 1));
    } catch (const DeployFailure& e) {
      result += ", but its activate steps failed too (" + std::string(e.what()) + ")";
    }
  }
  if (state.built) {
    co_await record_release(context, state, state.release, state.push().after,
                            ledger::ReleaseOutcome::rolled_back, why);
    co_await remove_release(context, state, state.release);
  }
  co_return result;
}

boost::asio::awaitable<void> discard_release(Context& context, RunState& state,
                                             const std::string& why) {
  if (!state.built) co_return;
  co_await record_release(context, state, state.release, state.push().after,
                          ledger::ReleaseOutcome::failed, why);
  co_await remove_release(context, state, state.release);
}

boost::asio::awaitable<void> retain_releases(Context& context, RunState& state) {
  co_await record_release(context, state, state.release, state.push().after,
                          ledger::ReleaseOutcome::deployed);
  std::error_code ec;
  const auto complete = state.layout->complete(ec);
  if (ec) co_return;
  auto doomed = common::releases_to_remove(complete, context.deployment.releases->keep,
                                           state.release, state.live_before.value_or(""));
  for (const auto& name : doomed) {
    if (state.good && name == *state.good) continue;
    co_await remove_release(context, state, name);
  }
  (void)short_sha;
}

}  // namespace deployer
