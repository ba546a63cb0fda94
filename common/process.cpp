// process.cpp: posix_spawn + pidfd + Asio pipe reading; see process.hpp for the contract.
#include "common/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/step_request.hpp"

extern char** environ;

namespace common {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

std::string errno_text(int error) {
  return std::strerror(error);
}

struct Spawned {
  pid_t pid = -1;
  int output = -1;  // read end of the child's stdout pipe (and stderr's, when not separate)
  int errors = -1;  // read end of the child's stderr pipe when separate, else -1
  int pidfd = -1;
  int control = -1;  // write end of deploy-step's stdin (run as another user only)
  std::string error;
};

// What runs as the command's user: sudo, which allows the deployer's user to become only that
// user and only to run deploy-step (docs/operations.md), with the request on deploy-step's stdin.
struct AsUser {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string request;
};

}  // namespace

std::filesystem::path default_step_supervisor() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "deploy-step";
}

namespace {

AsUser as_user(const Command& command) {
  const std::filesystem::path supervisor =
      command.supervisor.empty() ? default_step_supervisor() : command.supervisor;
  AsUser out;
  out.argv = {"/usr/bin/sudo", "-n", "-u", command.user, "--", supervisor.string()};
  // sudo builds the target's environment from scratch anyway (env_reset); the command's own
  // environment travels in the request, never in argv (/proc/<pid>/cmdline is world-readable).
  out.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
  out.request = format_step_request(
      {command.argv, command.cwd.empty() ? std::filesystem::path("/") : command.cwd, command.env,
       command.kill_grace, command.stop_grace, command.files});
  return out;
}

// Starts the child. On failure everything opened here is closed again and `error` says why.
Spawned spawn_child(const Command& command, bool separate_stderr) {
  Spawned result;
  if (command.argv.empty()) {
    result.error = "empty command";
    return result;
  }
  const bool other_user = !command.user.empty();
  std::string program;
  AsUser wrapped;
  if (other_user) {
    // The folder and the PATH lookup are checked by deploy-step, as the user: the deployer may
    // not even be allowed to look into that user's folders.
    wrapped = as_user(command);
    program = wrapped.argv[0];
  } else {
    std::error_code ec;
    if (!command.cwd.empty() && !std::filesystem::is_directory(command.cwd, ec)) {
      result.error = "working folder " + command.cwd.string() + " does not exist";
      return result;
    }
    program = resolve_program(command.argv[0], env_value(command.env, "PATH"), command.cwd);
    if (program.empty()) {
      result.error = "program \"" + command.argv[0] + "\" not found in PATH";
      return result;
    }
  }

  // deploy-step's stdin: the request, then kept open as the control channel. The whole request
  // is written before the spawn, so it must fit the pipe.
  int control_fds[2] = {-1, -1};
  if (other_user) {
    if (::pipe2(control_fds, O_CLOEXEC) != 0) {
      result.error = "pipe: " + errno_text(errno);
      return result;
    }
    ::fcntl(control_fds[1], F_SETPIPE_SZ, static_cast<int>(kMaxStepRequest));
    ::fcntl(control_fds[1], F_SETFL, O_NONBLOCK);
    const ssize_t n = ::write(control_fds[1], wrapped.request.data(), wrapped.request.size());
    if (n != static_cast<ssize_t>(wrapped.request.size())) {
      ::close(control_fds[0]);
      ::close(control_fds[1]);
      result.error = "the step's argv and environment are too large to hand to deploy-step";
      return result;
    }
  }

  int pipe_fds[2];
  int error_fds[2] = {-1, -1};
  // O_CLOEXEC on both ends: only the dup2'ed copies (fd 1 and 2) reach the child, so no other
  // process ever holds the write end and EOF means "the child's group closed its output".
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = "pipe: " + errno_text(errno);
    if (other_user) {
      ::close(control_fds[0]);
      ::close(control_fds[1]);
    }
    return result;
  }
  if (separate_stderr && ::pipe2(error_fds, O_CLOEXEC) != 0) {
    result.error = "pipe: " + errno_text(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return result;
  }

  std::vector<std::string> argv_copy = other_user ? wrapped.argv : command.argv;
  std::vector<char*> argv;
  argv.reserve(argv_copy.size() + 1);
  for (auto& a : argv_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = other_user ? wrapped.env : command.env;
  std::vector<char*> envp;
  envp.reserve(env_copy.size() + 1);
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (other_user) {
    posix_spawn_file_actions_adddup2(&actions, control_fds[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, separate_stderr ? error_fds[1] : pipe_fds[1], 2);
  if (!other_user && !command.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, command.cwd.c_str());
  }

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group (pgid = pid): a timeout or a stop kills the step and everything it started
  // in that group with one kill(-pgid). Default signal dispositions and an empty mask, so the
  // caller's own signal handling never leaks into a step.
  // As another user: a session of its own instead (also a group of its own), so sudo has no
  // controlling terminal and never puts the command on a pty (Debian's `Defaults use_pty`).
  posix_spawnattr_setflags(&attr, (other_user ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP) |
                                      POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t empty_set, all_signals;
  sigemptyset(&empty_set);
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&attr, &empty_set);
  posix_spawnattr_setsigdefault(&attr, &all_signals);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (separate_stderr) ::close(error_fds[1]);
  if (other_user) ::close(control_fds[0]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    if (separate_stderr) ::close(error_fds[0]);
    if (other_user) ::close(control_fds[1]);
    result.error = "cannot start " + program + ": " + errno_text(rc);
    return result;
  }
  result.pid = pid;
  result.control = control_fds[1];
  result.output = pipe_fds[0];
  result.errors = error_fds[0];
  result.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (result.pidfd < 0) {
    // Without a pidfd we could not wait for it under Asio: do not leave it running unwatched.
    int error = errno;
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(result.output);
    if (result.errors >= 0) ::close(result.errors);
    if (result.control >= 0) ::close(result.control);
    result = Spawned{};
    result.error = "pidfd_open: " + errno_text(error);
  }
  return result;
}

// Shared by the coroutines of one run; lives in run_command's frame, which outlives them all
// (the awaitable operators wait for both sides before resuming it).
struct RunState {
  pid_t pid;
  int control = -1;  // deploy-step's stdin, when the command runs as another user
  bool exited = false;
  bool timed_out = false;
  bool stopped = false;
  int readers = 1;  // pipes still being read
  bool stop_reading = false;
};

asio::awaitable<void> read_output(asio::posix::stream_descriptor& pipe, const OutputSink& sink,
                                  RunState& state, asio::steady_timer& drain) {
  std::array<char, 65536> buffer;
  while (!state.stop_reading) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), use_nothrow);
    if (n > 0 && sink) sink(std::string_view(buffer.data(), n));
    if (ec) break;  // EOF, or cancelled after the drain period
  }
  if (--state.readers == 0) drain.cancel();
}

asio::awaitable<void> wait_exit(asio::posix::stream_descriptor& pidfd, RunState& state) {
  // A pidfd becomes readable when the process exits; it stays a zombie until waitpid.
  co_await pidfd.async_wait(asio::posix::descriptor_base::wait_read, use_nothrow);
  state.exited = true;
}

// Kills the group on timeout or stop: SIGTERM, then SIGKILL after the grace period. Never
// returns by itself: it is cancelled by wait_exit winning the race.
asio::awaitable<void> supervise(const Command& command, RunState& state, StopSignal& stop,
                                Clock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto registration = stop.on_stop([&] { timer.cancel(); });
  timer.expires_at(deadline);
  if (!stop.requested()) co_await timer.async_wait(use_nothrow);
  if (state.exited) co_return;
  if (stop.requested()) {
    state.stopped = true;
  } else {
    state.timed_out = true;
  }
  const auto grace = state.stopped ? command.stop_grace : command.kill_grace;
  if (state.control >= 0) {
    // As another user the deployer may not signal the command's processes: deploy-step, the
    // subreaper running as that user, ends them all when its stdin closes ('s': a shutdown, the
    // short grace). sudo itself is SIGKILLed below only if it outlives that.
    if (state.stopped) (void)!::write(state.control, "s", 1);
    ::close(state.control);
    state.control = -1;
    timer.expires_after(grace + std::chrono::seconds(3));
  } else {
    ::kill(-state.pid, SIGTERM);
    timer.expires_after(grace);
  }
  // A stop requested during a timeout's grace period cancels the wait: SIGKILL at once.
  if (!(state.timed_out && stop.requested())) co_await timer.async_wait(use_nothrow);
  if (state.exited) co_return;
  ::kill(-state.pid, SIGKILL);
  timer.expires_at(Clock::time_point::max());
  while (!state.exited) {
    auto [ec] = co_await timer.async_wait(use_nothrow);
    if (ec && state.exited) break;
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) break;
  }
}

asio::awaitable<void> watch_child(const Command& command, RunState& state, StopSignal& stop,
                                  asio::posix::stream_descriptor& pidfd,
                                  asio::posix::stream_descriptor& pipe,
                                  std::optional<asio::posix::stream_descriptor>& errors,
                                  asio::steady_timer& drain, Clock::time_point deadline,
                                  int& wait_status) {
  co_await (wait_exit(pidfd, state) || supervise(command, state, stop, deadline));
  if (state.timed_out || state.stopped) {
    // The leader is a zombie, so its pid is still the group's id and cannot name another group:
    // this reaches every process the step left behind in its group.
    ::kill(-state.pid, SIGKILL);
  }
  if (state.control >= 0) {
    ::close(state.control);
    state.control = -1;
  }
  int status = 0;
  while (::waitpid(state.pid, &status, 0) < 0 && errno == EINTR) {
  }
  wait_status = status;
  if (state.readers > 0) {
    drain.expires_after(command.drain);
    co_await drain.async_wait(use_nothrow);
  }
  if (state.readers > 0) {
    // Something outside the group (or a survivor of a normal exit) still holds a pipe open.
    state.stop_reading = true;
    pipe.cancel();
    if (errors) errors->cancel();
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGKILL:
      return "SIGKILL";
    case SIGINT:
      return "SIGINT";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGHUP:
      return "SIGHUP";
    case SIGBUS:
      return "SIGBUS";
    default:
      return "signal";
  }
}

}  // namespace

std::string Outcome::describe() const {
  auto seconds = std::to_string(duration.count() / 1000) + "." +
                 std::to_string((duration.count() % 1000) / 100) + " s";
  switch (ending) {
    case Ending::exited:
      return "exited with status " + std::to_string(exit_code) + " after " + seconds;
    case Ending::signaled:
      return "killed by signal " + std::to_string(signal) + " (" + signal_name(signal) +
             ") after " + seconds;
    case Ending::timed_out:
      return "timed out after " + seconds + " (process group killed)";
    case Ending::stopped:
      return "stopped by shutdown after " + seconds + " (process group killed)";
    case Ending::spawn_failed:
      return "could not start: " + error;
  }
  return "unknown";
}

std::string_view env_value(const std::vector<std::string>& env, std::string_view name,
                           bool* found) {
  // Last definition wins, as when the list was built by appending overrides.
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    std::string_view entry = *it;
    if (entry.size() > name.size() && entry.substr(0, name.size()) == name &&
        entry[name.size()] == '=') {
      if (found != nullptr) *found = true;
      return entry.substr(name.size() + 1);
    }
  }
  if (found != nullptr) *found = false;
  return {};
}

std::string resolve_program(const std::string& program, std::string_view path_variable,
                            const std::filesystem::path& cwd) {
  if (program.empty()) return {};
  if (program.find('/') != std::string::npos) return program;
  if (path_variable.empty()) path_variable = "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path_variable.size()) {
    std::size_t end = path_variable.find(':', start);
    if (end == std::string_view::npos) end = path_variable.size();
    std::string_view dir = path_variable.substr(start, end - start);
    std::filesystem::path candidate =
        dir.empty() ? std::filesystem::path(program) : std::filesystem::path(dir) / program;
    std::filesystem::path probe = candidate.is_absolute() ? candidate : cwd / candidate;
    std::error_code ec;
    if (::access(probe.c_str(), X_OK) == 0 && !std::filesystem::is_directory(probe, ec)) {
      return probe.string();
    }
    start = end + 1;
  }
  return {};
}

asio::awaitable<Outcome> run_command(const Command& command, const OutputSinks& sinks,
                                     StopSignal& stop) {
  auto executor = co_await asio::this_coro::executor;
  auto started = Clock::now();
  Outcome outcome;
  if (stop.requested()) {
    outcome.ending = Ending::stopped;
    co_return outcome;
  }
  const bool separate = static_cast<bool>(sinks.err);
  Spawned child = spawn_child(command, separate);
  if (child.pid < 0) {
    outcome.ending = Ending::spawn_failed;
    outcome.error = child.error;
    co_return outcome;
  }
  asio::posix::stream_descriptor pipe(executor, child.output);
  std::optional<asio::posix::stream_descriptor> errors;
  if (separate) errors.emplace(executor, child.errors);
  asio::posix::stream_descriptor pidfd(executor, child.pidfd);
  asio::steady_timer drain(executor);
  RunState state{child.pid, child.control};
  state.readers = separate ? 2 : 1;
  int wait_status = 0;
  auto deadline = started + command.timeout;

  if (separate) {
    co_await (read_output(pipe, sinks.out, state, drain) &&
              read_output(*errors, sinks.err, state, drain) &&
              watch_child(command, state, stop, pidfd, pipe, errors, drain, deadline, wait_status));
  } else {
    co_await (read_output(pipe, sinks.out, state, drain) &&
              watch_child(command, state, stop, pidfd, pipe, errors, drain, deadline, wait_status));
  }

  outcome.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  if (WIFSIGNALED(wait_status)) outcome.signal = WTERMSIG(wait_status);
  if (state.timed_out) {
    outcome.ending = Ending::timed_out;
  } else if (state.stopped) {
    outcome.ending = Ending::stopped;
  } else if (WIFEXITED(wait_status)) {
    outcome.ending = Ending::exited;
    outcome.exit_code = WEXITSTATUS(wait_status);
  } else {
    outcome.ending = Ending::signaled;
  }
  co_return outcome;
}

asio::awaitable<Outcome> run_command(const Command& command, const OutputSink& sink,
                                     StopSignal& stop) {
  // A named local, not a temporary in the co_await expression: GCC 12 destroys such temporaries
  // twice.
  const OutputSinks sinks{sink, nullptr};
  co_return co_await run_command(command, sinks, stop);
}

Captured run_captured(const Command& command, std::size_t max_output) {
  Captured captured;
  auto keep = [max_output](std::string& to) {
    return [&to, max_output](std::string_view chunk) {
      to.append(chunk.substr(0, max_output - std::min(max_output, to.size())));
    };
  };
  const OutputSinks sinks{keep(captured.out), keep(captured.err)};
  StopSignal stop;  // never requested: the timeout bounds the run
  asio::io_context io;
  auto future = asio::co_spawn(io, run_command(command, sinks, stop), asio::use_future);
  io.run();
  captured.outcome = future.get();
  return captured;
}

std::vector<std::string> environment_with(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string_view::npos && overrides.contains(std::string(entry.substr(0, eq)))) {
      continue;
    }
    out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

}  // namespace common
