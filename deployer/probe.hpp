// probe.hpp: asking a release whether it is healthy: the preflight (the new release started
// once on a free loopback port before anything live changes) and the health check (the live URL
// after the activate steps).
//
// Both poll a URL with the same rules (common::PollSettings): one GET every `interval`, each
// bounded by max(interval, 1 s); `successes` consecutive good answers pass; a bad answer or no
// answer starts the count again; when `timeout` has passed without that, the check fails. Every
// answer that changes the picture is noted in the run log (the first good one, each different
// failure), never one line per request.
//
// Failures throw DeployFailure (stage "preflight" or "health check") with the last answer or
// error as reason; a shutdown throws Stopped. The preflight's program and every process of its
// group are stopped (SIGTERM, SIGKILL after 2 s) before run_preflight returns or throws.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/stop.hpp"
#include "deployer/environment.hpp"
#include "deployer/run_log.hpp"

namespace deployer {

/// A free TCP port on 127.0.0.1 (bound to port 0, read back, closed); 0 when none could be had.
unsigned free_loopback_port();

/// Good answer of a preflight: any 2xx.
bool preflight_answer_ok(unsigned status);

/// Good answer of a health check: `expect_status`, and the body contains `expected_body` (the
/// configured expect_body with ${DEPLOY_SHA} already expanded) when there is one.
bool health_answer_ok(const common::HealthCheck& check, const std::string& expected_body,
                      unsigned status, const std::string& body);

struct PreflightInput {
  const common::Deployment& deployment;  // deployment.preflight is set
  const DeployVars& vars;
  const std::vector<std::string>& base_env;
  std::filesystem::path release_dir;
};

/// Starts deployment.preflight.step in `release_dir` with the port in port_env, polls
/// http://127.0.0.1:<port><path>, then stops it (see the file comment). A program that exits
/// before passing fails the preflight at once.
boost::asio::awaitable<void> run_preflight(const PreflightInput& input, RunLog& log,
                                           common::StopSignal& stop);

/// Polls deployment.health_check (which is set) for the commit `sha`.
boost::asio::awaitable<void> run_health_check(const common::HealthCheck& check,
                                              const std::string& sha, RunLog& log,
                                              common::StopSignal& stop);

}  // namespace deployer
