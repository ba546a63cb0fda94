// step_request.hpp: what the deployer tells deploy-step, the supervisor a run_as deployment's
// steps run under (deploy-step/supervisor.hpp), on deploy-step's standard input.
//
//   {"argv": ["npm", "ci"], "cwd": "/var/www/app", "env": ["NAME=value", ...],
//    "grace_ms": 5000, "stop_grace_ms": 2000, "files": {"DEPLOY_CHANGED_FILES": "a.js\nb.js\n"}}\n
//
// "files" (optional): each is written by deploy-step, as the step's user, to a private file of
// its own (mode 0600 in /tmp), whose path the step gets in the named variable; the files are
// removed when the step has ended. That is how a step reads what the deployer knows but keeps in
// its own private folder (the list of changed paths).
//
// One JSON line, then stdin stays open as the control channel: end of file means "end the step
// now" (SIGTERM, then SIGKILL after grace_ms). A byte 's' before it means the deployer is
// shutting down: stop_grace_ms applies instead. stdin is the channel because sudo passes
// descriptors 0-2 through unchanged and closes every other one, and because the environment
// must not travel in argv (any user can read /proc/<pid>/cmdline).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace common {

struct StepRequest {
  std::vector<std::string> argv;
  std::filesystem::path cwd;
  std::vector<std::string> env;  ///< "NAME=value" each
  std::chrono::milliseconds grace{5000};
  std::chrono::milliseconds stop_grace{2000};
  std::map<std::string, std::string> files;  ///< variable name -> the file's content
};

/// The largest request line: sudo reads nothing, so the whole line must fit the pipe at once.
inline constexpr std::size_t kMaxStepRequest = 1 << 20;

/// The request as one line ending in '\n'.
std::string format_step_request(const StepRequest& request);

/// Parses a request line (without its '\n'). Throws std::runtime_error saying what is wrong.
StepRequest parse_step_request(const std::string& line);

}  // namespace common
