// subprocess.hpp: running a short helper program (git) to completion and capturing its output.
//
// argv is executed directly (posix_spawnp: no shell), in `cwd`, with stdin from /dev/null, in its
// own process group, with the current environment plus `env`. Past `timeout` the whole group is
// killed (SIGKILL) and the result says so: `git ls-remote` over a dead network must not hang an
// operator's command. At most `max_output` bytes of each stream are kept.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace deployctl {

struct ProcessResult {
  int exit_code = -1;  ///< the exit status; -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs argv to completion (see the file comment). Throws std::system_error naming argv[0]
/// when it cannot be started (not found, `cwd` missing).
ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                          const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout, std::size_t max_output = 1 << 20);

}  // namespace deployctl
