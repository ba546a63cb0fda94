// environment.hpp: what a step sees: its argv and its environment.
//
// Environment, later entries winning: the deployer's own environment minus the secrets the
// deployer itself reads (the variables named by database.url, github.token and secrets.webhook:
// a step runs third-party code such as npm install scripts, and the deployer's ledger URL must
// never become the app's DATABASE_URL by accident), then the deployment's "env", then the step's
// "env", then the DEPLOY_* variables (which configuration cannot override):
//   DEPLOY_DEPLOYMENT DEPLOY_SHA DEPLOY_PREVIOUS_SHA DEPLOY_REF DEPLOY_DELIVERY DEPLOY_ENTRY
//   DEPLOY_CHANGED_FILES
// and in release mode DEPLOY_RELEASE_DIR DEPLOY_PREVIOUS_RELEASE_DIR DEPLOY_ROOT.
//
// argv: a step's "run" as configured, each element one argument. In a non-shell step an element
// may contain "${DEPLOY_SHA}"-style references to the variables above; each is replaced by the
// value in place, and the element stays exactly one argument whatever the value contains (no
// splitting, no globbing, no shell). A "shell": true step runs /bin/sh -c "<script>" with its
// single string unchanged: webhook values reach such a script only through the environment.
#pragma once

#include <string>
#include <vector>

#include "common/config.hpp"

namespace deployer {

/// The values of the DEPLOY_* variables for one run.
struct DeployVars {
  std::string deployment;
  std::string sha;
  std::string previous_sha;  // empty on a first deploy
  std::string ref;
  std::string delivery;  // the X-GitHub-Delivery id; empty for a hand-written replay
  std::string entry;
  std::string changed_files;  // path of logs/<deployment>/<entry>.changed
  /// Release mode only (`releases` set): DEPLOY_RELEASE_DIR (the release being built or
  /// activated), DEPLOY_PREVIOUS_RELEASE_DIR (the live release before this deploy, empty on the
  /// first) and DEPLOY_ROOT (the deployment's path). Not set at all in place.
  bool release_mode = false;
  std::string release_dir{};
  std::string previous_release_dir{};
  std::string root{};
};

/// The current process environment ("NAME=value" each).
std::vector<std::string> process_environment();

/// `base` without the variables the configuration names as secret sources.
std::vector<std::string> without_secrets(const std::vector<std::string>& base,
                                         const common::Config& config);

/// "NAME=value" pairs of the DEPLOY_* variables, in a fixed order.
std::vector<std::string> deploy_variables(const DeployVars& vars);

/// The full environment of a step (see the file comment). `base` is the already filtered
/// process environment.
std::vector<std::string> step_environment(const std::vector<std::string>& base,
                                          const common::Deployment& deployment,
                                          const common::Step& step, const DeployVars& vars);

/// The argv of a step (see the file comment).
std::vector<std::string> step_argv(const common::Step& step, const DeployVars& vars);

/// Replaces ${DEPLOY_...} references to the variables above in one argument. Unknown names
/// and a lone "$" are left as they are.
std::string expand_argument(const std::string& argument, const DeployVars& vars);

/// argv as one line for logs: arguments with spaces or quotes are single-quoted.
std::string display_command(const std::vector<std::string>& argv);

}  // namespace deployer
