// process.hpp: running one command (a deploy step, a git call, an operator's helper program) as a
// child process under Asio.
//
// The child gets its own process group, stdin from /dev/null, the given working folder and
// exactly the given environment. stdout and stderr share one pipe (so their order is kept) unless
// the caller asks for stderr separately; each pipe is read with Asio and handed to a sink chunk by
// chunk. No shell is involved: argv[0] is looked up in the PATH of the child's environment when it
// has no '/', and every argv element reaches the program as one literal argument. The child starts
// with default signal dispositions and an empty signal mask, whatever the caller blocks.
//
// Ending: the child's exit is seen through a pidfd (pidfd_open + stream_descriptor). When the
// timeout passes, or when stop is requested (SIGTERM to the program), the whole process group
// gets SIGTERM and, after a grace period, SIGKILL; once the leader has exited the group gets a
// final SIGKILL while the leader is still an unreaped zombie, so its group id cannot have been
// reused and nothing the command started in its group survives (a grandchild sleeping forever is
// gone too). A command that exits normally is not followed by a kill: processes it deliberately
// moved to another session (pm2's daemon) are left alone. Output still arriving after the leader
// exited is read for a short drain period; a pipe held open by such a survivor is then abandoned.
//
// Contract: when run_command returns, the child has been reaped and no descriptor is left open.
// A crash of the caller leaves the child running in its group (it is not our child any more); the
// deployer's entry stays in active/ and is run again on restart.
#pragma once

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/stop.hpp"

namespace common {

/// What to run and how. Every field has a default that keeps the behaviour described above, so a
/// field added later (a user to run as, a wider kill) changes nothing for callers that ignore it.
struct Command {
  std::vector<std::string> argv;
  /// The child's working folder; empty: the caller's own. One that does not exist is a
  /// spawn failure naming it.
  std::filesystem::path cwd;
  /// The complete environment of the child, "NAME=value" each (see environment_with()).
  std::vector<std::string> env;
  std::chrono::milliseconds timeout{std::chrono::minutes(15)};
  /// Between SIGTERM and SIGKILL on a timeout.
  std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
  /// Between SIGTERM and SIGKILL when stop is requested (kept short: shutdown must be prompt).
  std::chrono::milliseconds stop_grace{std::chrono::seconds(2)};
  /// How long output is still read after the leader exited.
  std::chrono::milliseconds drain{std::chrono::seconds(1)};
  /// Empty: the command runs as the deployer's own user, as described above. Set (a deployment's
  /// run_as): the runner starts `sudo -n -u <user> -- <supervisor>` in a session of its own (no
  /// controlling terminal, so sudo's use_pty does not apply) and hands it argv, cwd and env on
  /// its stdin (common/step_request.hpp); the cwd and PATH lookup are then the supervisor's, as
  /// that user. At a timeout or a stop the runner closes that stdin and deploy-step ends every
  /// descendant of the command (SIGTERM, SIGKILL after kill_grace or stop_grace), setsid'd and
  /// double-forked ones included, and also when the command exits by itself; the runner
  /// SIGKILLs sudo only if it outlives that by 3 s.
  std::string user;
  /// The deploy-step program for `user`; empty: deploy-step next to the running program.
  std::filesystem::path supervisor;
  /// With `user` only: files deploy-step writes for the command, as that user (variable name ->
  /// content); the command finds each file's path in that variable (common/step_request.hpp).
  std::map<std::string, std::string> files;
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
/// deploy-step next to the running program: what Command::supervisor defaults to.
std::filesystem::path default_step_supervisor();

using OutputSink = std::function<void(std::string_view)>;

/// Where the child's output goes. Without `err`, stdout and stderr share one pipe and both reach
/// `out` in the order written; with `err`, stderr has its own pipe and sink.
struct OutputSinks {
  OutputSink out;
  OutputSink err;
};

/// Runs `command` to its end (see the file comment). Never throws for the child's failures;
/// they are described in the Outcome.
boost::asio::awaitable<Outcome> run_command(const Command& command, const OutputSinks& sinks,
                                            StopSignal& stop);

/// The same with stdout and stderr together in one sink.
boost::asio::awaitable<Outcome> run_command(const Command& command, const OutputSink& sink,
                                            StopSignal& stop);

/// What run_captured collected.
struct Captured {
  Outcome outcome;
  std::string out;  ///< stdout, at most max_output bytes (the rest is read and dropped)
  std::string err;  ///< stderr, likewise
};

/// Runs `command` to its end on an io_context of its own, for synchronous callers (deployctl,
/// tests) running a short helper program. Same contract as run_command; nothing can request a
/// stop, so `command.timeout` is what bounds it.
Captured run_captured(const Command& command, std::size_t max_output = std::size_t{1} << 20);

/// This process's environment with `overrides` (NAME -> value) replacing or adding variables.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& overrides);

/// The full path of `program` as execve would need it: itself when it contains '/', else the
/// first executable file of that name in the colon-separated `path_variable`. Empty if none.
std::string resolve_program(const std::string& program, std::string_view path_variable,
                            const std::filesystem::path& cwd);

/// The value of NAME in an environment list of "NAME=value" strings, or an empty string_view
/// with *found = false.
std::string_view env_value(const std::vector<std::string>& env, std::string_view name,
                           bool* found = nullptr);

}  // namespace common
