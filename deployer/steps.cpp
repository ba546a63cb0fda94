// steps.cpp: see steps.hpp.
#include "deployer/steps.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "common/process.hpp"
#include "deployer/errors.hpp"
#include "deployer/glob.hpp"

namespace deployer {

bool step_applies(const common::Step& step, const std::vector<std::string>& changed) {
  return step.only_if_changed.empty() || any_match(step.only_if_changed, changed);
}

common::Command deployment_command(const common::Deployment& deployment,
                                   std::vector<std::string> argv, std::filesystem::path cwd,
                                   std::vector<std::string> env,
                                   std::chrono::milliseconds timeout) {
  common::Command command;
  command.argv = std::move(argv);
  command.cwd = std::move(cwd);
  command.env = std::move(env);
  command.timeout = timeout;
  command.user = deployment.run_as;
  return command;
}

namespace {

// The largest list of changed paths handed to a run_as step: deploy-step's whole request, with
// the step's argv and environment, must fit its 1 MiB pipe.
constexpr std::size_t kMaxChangedHandOver = 512 * 1024;

// A run_as step cannot read the deployer's own copy of the changed paths (it lies in the private
// state folder): deploy-step writes the list again as that user, and DEPLOY_CHANGED_FILES names
// that file instead. A list too long for that leaves the variable empty, said once in the log.
void hand_over_changed(common::Command& command, const std::vector<std::string>& changed,
                       RunLog& log, bool& too_long_noted) {
  const std::string prefix = "DEPLOY_CHANGED_FILES=";
  const auto it = std::find_if(command.env.begin(), command.env.end(),
                               [&](const std::string& e) { return e.starts_with(prefix); });
  if (command.user.empty() || it == command.env.end()) return;
  std::string list;
  for (const auto& path : changed) {
    list += path;
    list += '\n';
  }
  if (list.size() > kMaxChangedHandOver) {
    *it = prefix;
    if (!too_long_noted) {
      log.note(std::to_string(changed.size()) +
               " changed paths are too many to hand to a run_as step: DEPLOY_CHANGED_FILES is "
               "empty");
      too_long_noted = true;
    }
    return;
  }
  command.env.erase(it);
  command.files["DEPLOY_CHANGED_FILES"] = std::move(list);
}

}  // namespace

boost::asio::awaitable<void> run_steps(const StepsInput& input, RunLog& log,
                                       common::StopSignal& stop, const StepRecorder& record) {
  const auto& steps = input.steps != nullptr ? *input.steps : input.deployment.steps;
  const auto& cwd = input.cwd.empty() ? input.deployment.path : input.cwd;
  const std::string count = std::to_string(steps.size());
  bool too_long_noted = false;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const common::Step& step = steps[i];
    const std::string label =
        input.kind + " " + std::to_string(i + 1) + "/" + count + " " + step.name;
    StepReport report;
    report.index = input.index_base + static_cast<int>(i);
    report.name = step.name;

    if (!step_applies(step, input.changed)) {
      log.note(label + " skipped: no changed path matches only_if_changed");
      report.result = StepReport::Result::skipped;
      co_await record(report);
      continue;
    }

    common::Command command = deployment_command(
        input.deployment, step_argv(step, input.vars), cwd,
        step_environment(input.base_env, input.deployment, step, input.vars), step.timeout);
    hand_over_changed(command, input.changed, log, too_long_noted);

    log.note(label + ": " + display_command(command.argv));
    log.clear_tail();
    common::log::info(
        "step started",
        {{"deployment", input.deployment.name}, {"entry", input.vars.entry}, {"step", step.name}});
    const common::OutputSink sink = [&log](std::string_view chunk) { log.output(chunk); };
    common::Outcome outcome = co_await common::run_command(command, sink, stop);
    log.end_output();
    log.note(label + " " + outcome.describe());

    report.duration = outcome.duration;
    if (outcome.ending == common::Ending::exited) report.exit_code = outcome.exit_code;
    if (outcome.ending == common::Ending::stopped) throw Stopped();
    if (outcome.succeeded()) {
      report.result = StepReport::Result::succeeded;
    } else if (outcome.ending == common::Ending::timed_out) {
      report.result = StepReport::Result::timeout;
    } else {
      report.result = StepReport::Result::failed;
    }
    common::log::write(outcome.succeeded() ? common::log::Level::info : common::log::Level::warn,
                       "step finished",
                       {{"deployment", input.deployment.name},
                        {"entry", input.vars.entry},
                        {"step", step.name},
                        {"result", outcome.describe()}});
    co_await record(report);
    if (!outcome.succeeded()) {
      std::string reason = outcome.describe();
      if (outcome.ending == common::Ending::timed_out) {
        reason =
            "timed out after " + std::to_string(step.timeout.count()) + " s (process group killed)";
      }
      throw DeployFailure(input.kind + " " + step.name, reason, report.exit_code,
                          std::vector<std::string>(log.tail().begin(), log.tail().end()));
    }
  }
}

boost::asio::awaitable<common::Outcome> run_logged(const common::Command& command, RunLog& log,
                                                   const std::string& label,
                                                   common::StopSignal& stop) {
  log.note(label + ": " + display_command(command.argv));
  log.clear_tail();
  const common::OutputSink sink = [&log](std::string_view chunk) { log.output(chunk); };
  const common::Outcome outcome = co_await common::run_command(command, sink, stop);
  log.end_output();
  if (outcome.ending == common::Ending::stopped) throw Stopped();
  co_return outcome;
}

}  // namespace deployer
