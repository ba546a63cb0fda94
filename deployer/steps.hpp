// steps.hpp: running a deployment's steps in order for one deploy.
//
// For each step: if it has "only_if_changed" globs and no changed path matches, it is skipped
// (and recorded as skipped). Otherwise its argv runs in the deployment's path with the step
// environment (environment.hpp) under the step's timeout; its output goes to the run log between
// a header ("step 2/5 build: pnpm run build") and a footer (exit status and duration). The first
// step that does not succeed ends the deploy: run_steps throws DeployFailure with the step's
// name, exit status, reason and last output lines. A shutdown throws Stopped after the step's
// process group was killed. Every step's end is reported to `record` before the next starts.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/process.hpp"
#include "common/stop.hpp"
#include "deployer/environment.hpp"
#include "deployer/run_log.hpp"

namespace deployer {

struct StepReport {
  enum class Result { succeeded, failed, skipped, timeout };
  int index = 0;  // 0-based position in the deployment's steps
  std::string name;
  Result result = Result::succeeded;
  std::optional<int> exit_code;  // when the program exited by itself
  std::chrono::milliseconds duration{0};
};

/// Called after each step (ledger record_step); may wait (ledger back-off).
using StepRecorder = std::function<boost::asio::awaitable<void>(const StepReport&)>;

struct StepsInput {
  const common::Deployment& deployment;
  const DeployVars& vars;
  const std::vector<std::string>& changed;   // changed paths (git diff)
  const std::vector<std::string>& base_env;  // filtered process environment
  /// What runs, and where: the deployment's steps in its path by default; in release mode the
  /// steps in the new release's folder, or the activate steps in path/current.
  const std::vector<common::Step>* steps = nullptr;  // null: deployment.steps
  std::filesystem::path cwd{};                       // empty: deployment.path
  /// "step" or "activate": in log lines and DeployFailure's stage ("activate reload").
  std::string kind = "step";
  /// Added to each step's position for StepReport::index (the ledger keys a run's steps by it).
  int index_base = 0;
};

/// Every process a deployment starts for its own work (steps, activate steps, the preflight,
/// the reuse copy) gets its Command from here: one place for what they all share (a user to run
/// as, later). git calls are the deployer's own (git.hpp).
common::Command deployment_command(const common::Deployment& deployment,
                                   std::vector<std::string> argv, std::filesystem::path cwd,
                                   std::vector<std::string> env, std::chrono::milliseconds timeout);

/// Runs every step (see the file comment).
boost::asio::awaitable<void> run_steps(const StepsInput& input, RunLog& log,
                                       common::StopSignal& stop, const StepRecorder& record);

/// Whether `step` must run for these changed paths (no globs, or one matching).
bool step_applies(const common::Step& step, const std::vector<std::string>& changed);

/// Runs `command` with its output going into `log` after a line "<label>: <argv>", the log's
/// tail cleared first so that a failure report quotes this command's last lines. Throws Stopped
/// when a stop ended it; returns its outcome otherwise.
boost::asio::awaitable<common::Outcome> run_logged(const common::Command& command, RunLog& log,
                                                   const std::string& label,
                                                   common::StopSignal& stop);

}  // namespace deployer
