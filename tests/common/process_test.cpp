// common::run_command with real child processes: output capture (together or stdout and stderr
// apart), exit statuses, the working folder and environment, a timeout killing the whole process
// group (grandchildren included, even ones that ignore SIGTERM), a stop request, a survivor holding
// the pipe open not blocking the run; run_captured and the environment helpers.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/process.hpp"
#include "tests/support/child.hpp"
#include "tests/support/temp_dir.hpp"

using namespace common;
using namespace std::chrono_literals;

namespace {

struct Ran {
  Outcome outcome;
  std::string output;
};

Ran run_to_end(Command command, StopSignal& stop,
               std::optional<std::chrono::milliseconds> stop_after = std::nullopt) {
  boost::asio::io_context io;
  Ran ran;
  OutputSink sink = [&ran](std::string_view chunk) { ran.output.append(chunk); };
  boost::asio::steady_timer stopper(io);
  if (stop_after) {
    stopper.expires_after(*stop_after);
    stopper.async_wait([&stop](boost::system::error_code ec) {
      if (!ec) stop.request();
    });
  }
  auto future = boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<Outcome> {
        Outcome o = co_await run_command(command, sink, stop);
        stopper.cancel();
        co_return o;
      },
      boost::asio::use_future);
  io.run();
  ran.outcome = future.get();
  return ran;
}

Ran run_to_end(Command command) {
  StopSignal stop;
  return run_to_end(std::move(command), stop);
}

Command shell(const std::string& script, const std::filesystem::path& cwd = "/") {
  Command command;
  command.argv = {"/bin/sh", "-c", script};
  command.cwd = cwd;
  command.env = {"PATH=/usr/bin:/bin"};
  command.timeout = 30s;
  return command;
}

// Dead, or a zombie waiting for a parent that is gone (reparented, not yet reaped).
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

pid_t read_pid(const std::filesystem::path& file) {
  return static_cast<pid_t>(std::stol(test::read_file(file)));
}

}  // namespace

TEST_CASE("output of stdout and stderr is captured in order with the exit status", "[process]") {
  auto ran = run_to_end(shell("echo one; echo two >&2; printf three; exit 3"));
  CHECK(ran.outcome.ending == Ending::exited);
  CHECK(ran.outcome.exit_code == 3);
  CHECK_FALSE(ran.outcome.succeeded());
  CHECK(ran.output == "one\ntwo\nthree");
  CHECK(ran.outcome.describe().starts_with("exited with status 3"));
}

TEST_CASE("the child runs in the given folder with exactly the given environment", "[process]") {
  test::TempDir tmp;
  Command command = shell("pwd; echo \"$ONLY_THIS\"; echo \"${HOME:-no home}\"", tmp.path());
  command.env.push_back("ONLY_THIS=value with spaces");
  auto ran = run_to_end(command);
  REQUIRE(ran.outcome.succeeded());
  CHECK(ran.output == tmp.path().string() + "\nvalue with spaces\nno home\n");
}

TEST_CASE("a missing program or folder is reported, not thrown", "[process]") {
  Command missing;
  missing.argv = {"no-such-program-anywhere"};
  missing.cwd = "/";
  missing.env = {"PATH=/usr/bin:/bin"};
  auto ran = run_to_end(missing);
  CHECK(ran.outcome.ending == Ending::spawn_failed);
  CHECK(ran.outcome.describe().find("not found in PATH") != std::string::npos);

  auto no_dir = run_to_end(shell("true", "/no/such/folder"));
  CHECK(no_dir.outcome.ending == Ending::spawn_failed);
  CHECK(no_dir.outcome.error.find("/no/such/folder") != std::string::npos);
}

TEST_CASE("a timeout kills the whole process group, grandchildren included", "[process]") {
  test::TempDir tmp;
  // The grandchild ignores SIGTERM, so only the SIGKILL to the group can end it.
  Command command = shell(
      "sh -c 'trap \"\" TERM; echo $$ > grandchild.pid; exec sleep 1000' & "
      "echo $$ > child.pid; echo started; wait",
      tmp.path());
  command.timeout = 500ms;
  command.kill_grace = 500ms;
  auto start = std::chrono::steady_clock::now();
  auto ran = run_to_end(command);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(ran.outcome.ending == Ending::timed_out);
  CHECK(ran.output.find("started") != std::string::npos);
  CHECK(took < 5s);
  REQUIRE(test::eventually([&] { return std::filesystem::exists(tmp / "grandchild.pid"); }, 1s));
  CHECK(test::eventually([&] { return gone(read_pid(tmp / "child.pid")); }, 2s));
  CHECK(test::eventually([&] { return gone(read_pid(tmp / "grandchild.pid")); }, 2s));
}

TEST_CASE("a stop request kills the group promptly", "[process]") {
  test::TempDir tmp;
  Command command = shell("trap '' TERM; echo $$ > child.pid; sleep 1000", tmp.path());
  command.stop_grace = 300ms;
  StopSignal stop;
  auto start = std::chrono::steady_clock::now();
  auto ran = run_to_end(command, stop, 300ms);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(ran.outcome.ending == Ending::stopped);
  CHECK(took < 3s);
  CHECK(test::eventually([&] { return gone(read_pid(tmp / "child.pid")); }, 2s));
}

TEST_CASE("a process left holding the pipe does not block the end of the run", "[process]") {
  test::TempDir tmp;
  // setsid: the survivor leaves the step's group (as pm2's daemon does) and keeps stdout open.
  Command command = shell("setsid sleep 1000 & echo $! > survivor.pid; echo done", tmp.path());
  command.drain = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto ran = run_to_end(command);
  CHECK(ran.outcome.succeeded());
  CHECK(ran.output == "done\n");
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  ::kill(read_pid(tmp / "survivor.pid"), SIGKILL);
}

TEST_CASE("a child killed by a signal is reported as such", "[process]") {
  auto ran = run_to_end(shell("kill -SEGV $$"));
  CHECK(ran.outcome.ending == Ending::signaled);
  CHECK(ran.outcome.signal == SIGSEGV);
  CHECK(ran.outcome.describe().find("SIGSEGV") != std::string::npos);
}

TEST_CASE("programs are looked up in the PATH of the step's environment", "[process]") {
  CHECK(resolve_program("sh", "/nonexistent:/bin", "/") == "/bin/sh");
  CHECK(resolve_program("/bin/true", "", "/") == "/bin/true");
  CHECK(resolve_program("./deploy.sh", "/bin", "/") == "./deploy.sh");
  CHECK(resolve_program("no-such-program-here", "/bin:/usr/bin", "/").empty());
  std::vector<std::string> env{"A=1", "PATH=/first", "PATH=/second"};
  CHECK(env_value(env, "PATH") == "/second");
  bool found = true;
  CHECK(env_value(env, "MISSING", &found).empty());
  CHECK_FALSE(found);
}

TEST_CASE("stdout and stderr can be read apart", "[process]") {
  boost::asio::io_context io;
  std::string out, err;
  StopSignal stop;
  const OutputSinks sinks{[&out](std::string_view c) { out.append(c); },
                          [&err](std::string_view c) { err.append(c); }};
  // The command must outlive the coroutine: run_command keeps a reference.
  const Command command = shell("echo one; echo two >&2; echo three; exit 4");
  auto future =
      boost::asio::co_spawn(io, run_command(command, sinks, stop), boost::asio::use_future);
  io.run();
  const Outcome outcome = future.get();
  CHECK(outcome.ending == Ending::exited);
  CHECK(outcome.exit_code == 4);
  CHECK(out == "one\nthree\n");
  CHECK(err == "two\n");
}

TEST_CASE("run_captured runs synchronously, bounds what it keeps and honours the timeout",
          "[process]") {
  Command command = shell("head -c 5000 /dev/zero | tr '\\0' x; echo oops >&2");
  auto captured = run_captured(command, 1000);
  CHECK(captured.outcome.succeeded());
  CHECK(captured.out == std::string(1000, 'x'));
  CHECK(captured.err == "oops\n");

  Command slow = shell("sleep 1000");
  slow.timeout = 300ms;
  slow.kill_grace = 100ms;
  const auto start = std::chrono::steady_clock::now();
  CHECK(run_captured(slow).outcome.ending == Ending::timed_out);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("an empty working folder means the caller's own", "[process]") {
  Command command = shell("pwd", "");
  auto captured = run_captured(command);
  REQUIRE(captured.outcome.succeeded());
  CHECK(captured.out == std::filesystem::current_path().string() + "\n");
}

TEST_CASE("environment_with keeps this process's variables and overrides the named ones",
          "[process]") {
  ::setenv("PROCESS_TEST_KEPT", "kept", 1);
  ::setenv("PROCESS_TEST_REPLACED", "old", 1);
  const auto env =
      environment_with({{"PROCESS_TEST_REPLACED", "new"}, {"PROCESS_TEST_ADDED", "a"}});
  CHECK(env_value(env, "PROCESS_TEST_KEPT") == "kept");
  CHECK(env_value(env, "PROCESS_TEST_REPLACED") == "new");
  CHECK(env_value(env, "PROCESS_TEST_ADDED") == "a");
  CHECK(std::count_if(env.begin(), env.end(), [](const std::string& e) {
          return e.starts_with("PROCESS_TEST_REPLACED=");
        }) == 1);
}
