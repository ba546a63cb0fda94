// run.hpp: running nginx and certbot from the root helper.
//
// Synchronous and small on purpose: the helper runs one command at a time. The child gets
// exactly the given environment (nothing of the caller's), stdin from /dev/null, stdout and
// stderr on one pipe, no other descriptor (close_range), and its own process group so a timeout
// can kill everything it started. Output is kept up to 64 KiB (the rest is read and dropped).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace privileged {

struct RunResult {
  int status = -1;     ///< exit code, 128+signal, or -1 when it could not start / timed out
  std::string output;  ///< stdout and stderr, in order
  bool succeeded() const { return status == 0; }
};

/// Runs argv (argv[0] an absolute path) to its end or until `timeout` (then SIGKILL to its group).
RunResult run_program(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      std::chrono::seconds timeout);

/// The fixed environment the helper gives its children.
std::vector<std::string> fixed_environment();

}  // namespace privileged
