// process.hpp: running one command (a deploy step, a git call) as a child process under Asio.
//
// The child gets its own process group, stdin from /dev/null, stdout and stderr on one pipe
// (so their order is kept) that is read with Asio and handed to a sink chunk by chunk, the given
// working folder and exactly the given environment. No shell is involved: argv[0] is looked up in
// the PATH of the child's environment when it has no '/', and every argv element reaches the
// program as one literal argument.
//
// Ending: the child's exit is seen through a pidfd (pidfd_open + stream_descriptor). When the
// timeout passes, or when stop is requested (SIGTERM to the deployer), the whole process group
// gets SIGTERM and, after a grace period, SIGKILL; once the leader has exited the group gets a
// final SIGKILL while the leader is still an unreaped zombie, so its group id cannot have been
// reused and nothing the step started in its group survives (a grandchild sleeping forever is
// gone too). A step that exits normally is not followed by a kill: processes it deliberately
// moved to another session (pm2's daemon) are left alone. Output still arriving after the leader
// exited is read for a short drain period; a pipe held open by such a survivor is then abandoned.
//
// Contract: when run_command returns, the child has been reaped and no descriptor is left open.
// A crash of the deployer leaves the child running in its group (it is not our child any more);
// the entry stays in active/ and is run again on restart.
#pragma once

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "deployer/stop.hpp"

namespace deployer {

struct Command {
  std::vector<std::string> argv;
  std::filesystem::path cwd;
  /// The complete environment of the child, "NAME=value" each.
  std::vector<std::string> env;
  std::chrono::milliseconds timeout{std::chrono::minutes(15)};
  /// Between SIGTERM and SIGKILL on a timeout.
  std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
  /// Between SIGTERM and SIGKILL when stop is requested (kept short: shutdown must be prompt).
  std::chrono::milliseconds stop_grace{std::chrono::seconds(2)};
  /// How long output is still read after the leader exited.
  std::chrono::milliseconds drain{std::chrono::seconds(1)};
};

enum class Ending {
  exited,        // the program exited by itself (exit_code says how)
  signaled,      // killed by a signal nobody here sent (signal says which)
  timed_out,     // the timeout passed: the group was killed
  stopped,       // stop was requested: the group was killed
  spawn_failed,  // it never ran (error says why)
};

struct Outcome {
  Ending ending = Ending::spawn_failed;
  int exit_code = -1;  // when exited
  int signal = 0;      // when signaled (or the signal that ended a timed-out/stopped child)
  std::chrono::milliseconds duration{0};
  std::string error;  // when spawn_failed

  bool succeeded() const { return ending == Ending::exited && exit_code == 0; }
  /// "exited with status 2", "timed out after 900 s", "killed by signal 9 (SIGKILL)", ...
  std::string describe() const;
};

/// Receives the child's output as it arrives (arbitrary chunks, not lines).
using OutputSink = std::function<void(std::string_view)>;

/// Runs `command` to its end (see the file comment). Never throws for the child's failures;
/// they are described in the Outcome.
boost::asio::awaitable<Outcome> run_command(const Command& command, const OutputSink& sink,
                                            StopSignal& stop);

/// The full path of `program` as execve would need it: itself when it contains '/', else the
/// first executable file of that name in the colon-separated `path_variable`. Empty if none.
std::string resolve_program(const std::string& program, std::string_view path_variable,
                            const std::filesystem::path& cwd);

/// The value of NAME in an environment list of "NAME=value" strings, or nullopt-like empty
/// string_view with found=false.
std::string_view env_value(const std::vector<std::string>& env, std::string_view name,
                           bool* found = nullptr);

}  // namespace deployer
