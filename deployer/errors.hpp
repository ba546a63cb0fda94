// errors.hpp: the two ways a deploy run stops early.
//
// DeployFailure: the run failed (a git command, a missing commit, a step): the entry goes to
// failed/ with an error file built from these fields. Stopped: shutdown was requested while the
// run was in progress: the entry stays in active/ and is run again on restart.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace deployer {

struct DeployFailure : std::runtime_error {
  DeployFailure(std::string failed_stage, std::string why, std::optional<int> status = std::nullopt,
                std::vector<std::string> tail = {})
      : std::runtime_error(failed_stage + ": " + why),
        stage(std::move(failed_stage)),
        reason(std::move(why)),
        exit_code(status),
        output_tail(std::move(tail)) {}

  std::string stage;   // "git fetch", "git checkout", "step build", ...
  std::string reason;  // "exited with status 1 after 2.0 s", ...
  std::optional<int> exit_code;
  std::vector<std::string> output_tail;
  /// A condition that may pass by itself (a remote that cannot be reached, a full disk, GitHub's
  /// API not answering): the deployment's "retry" may try again (retry.hpp).
  bool transient = false;

  DeployFailure&& as_transient() && {
    transient = true;
    return std::move(*this);
  }
};

struct Stopped : std::runtime_error {
  Stopped() : std::runtime_error("stopped by shutdown") {}
};

}  // namespace deployer
