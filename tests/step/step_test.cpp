// step_test.cpp: the REAL deploy-step binary, run directly and through sudo as a real user:
// every process a step starts ends with the step (setsid, double fork, at the step's exit, at a
// stop, at a SIGTERM), the step gets exactly the requested environment plus its user's
// HOME/USER/LOGNAME and no inherited descriptor, and its exit status or signal comes back. Also
// `deploy-step layout`: a write failing on a full disk exits 75, any other failure 1, so the
// deployer can retry the one and not the other.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "deploy-step/supervisor.hpp"
#include "tests/support/child.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/users.hpp"

namespace {

// deploy-step (or sudo in front of it) with a pipe on stdin the test controls and its output
// captured; the destructor kills and reaps it if the test did not.
class Supervisor {
 public:
  explicit Supervisor(const std::vector<std::string>& prefix) {
    int in[2], out[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    std::vector<std::string> argv = prefix;
    argv.push_back(test::bin("deploy-step").string());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setsid();  // no controlling terminal, as under PM2: sudo then uses no pty
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    control_ = in[1];
    output_ = out[0];
  }
  ~Supervisor() {
    close_control();
    if (!status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(output_);
  }
  void send(const step::Request& request) {
    const std::string line = common::format_step_request(request);
    REQUIRE(::write(control_, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  }
  void close_control() {
    if (control_ >= 0) ::close(control_);
    control_ = -1;
  }
  pid_t pid() const { return pid_; }
  // Waits for the exit, reading all output; nullopt after `timeout`.
  std::optional<int> wait(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{output_, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        char buffer[4096];
        const ssize_t n = ::read(output_, buffer, sizeof buffer);
        if (n > 0) output.append(buffer, static_cast<std::size_t>(n));
      }
      int status = 0;
      if (!status_ && ::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
      if (status_ && (p.revents & POLLHUP) && !(p.revents & POLLIN)) break;
    }
    return status_;
  }
  std::string output;

 private:
  pid_t pid_ = -1;
  int control_ = -1;
  int output_ = -1;
  std::optional<int> status_;
};

step::Request shell(const std::string& script, const std::filesystem::path& cwd) {
  step::Request r;
  r.argv = {"/bin/sh", "-c", script};
  r.cwd = cwd;
  r.env = {"PATH=/usr/bin:/bin", "STEP_MARK=yes"};
  r.grace = std::chrono::milliseconds(500);
  return r;
}

// The pid a script wrote, once the file is complete.
pid_t pid_in(const std::filesystem::path& file) {
  pid_t pid = 0;
  REQUIRE(test::eventually(
      [&] {
        std::ifstream in(file);
        return static_cast<bool>(in >> pid) && pid > 0;
      },
      std::chrono::seconds(10)));
  return pid;
}

bool alive(pid_t pid) {
  // A zombie counts as gone: it runs nothing any more.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

}  // namespace

TEST_CASE("a setsid'd background process does not outlive the step that started it") {
  test::TempDir dir("step");
  Supervisor s({});
  s.send(shell("setsid sleep 1000 & echo $! > pid; echo started", dir.path()));
  const auto status = s.wait(std::chrono::seconds(20));
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(s.output == "started\n");
  CHECK_FALSE(alive(pid_in(dir / "pid")));
}

TEST_CASE("a double-forked daemon in a new session does not outlive the step") {
  test::TempDir dir("step");
  Supervisor s({});
  s.send(shell("(setsid sh -c 'sleep 1000 & echo $! > pid; sleep 1000' &) ; sleep 0.2; exit 3",
               dir.path()));
  const auto status = s.wait(std::chrono::seconds(20));
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 3);
  CHECK_FALSE(alive(pid_in(dir / "pid")));
}

TEST_CASE("a stop (stdin closed) or a SIGTERM ends the step and everything it started") {
  test::TempDir dir("step");
  Supervisor s({});
  s.send(shell("trap '' TERM; setsid sleep 1000 & echo $! > pid; sleep 1000 & wait", dir.path()));
  const pid_t escaped = pid_in(dir / "pid");
  REQUIRE(alive(escaped));
  const auto start = std::chrono::steady_clock::now();
  SECTION("the deployer closes stdin (timeout, stop, or the deployer died)") {
    s.close_control();
  }
  SECTION("SIGTERM, as sudo relays it") {
    ::kill(s.pid(), SIGTERM);
  }
  const auto status = s.wait(std::chrono::seconds(20));
  REQUIRE(status);
  // The shell ignores SIGTERM: it is killed after the 500 ms grace.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(WIFSIGNALED(*status));
  CHECK(WTERMSIG(*status) == SIGKILL);
  CHECK_FALSE(alive(escaped));
}

TEST_CASE("the step gets exactly its environment and no inherited descriptor") {
  test::TempDir dir("step");
  Supervisor s({});
  s.send(shell("env | sort; ls /proc/self/fd | wc -l", dir.path()));
  REQUIRE(s.wait(std::chrono::seconds(20)));
  INFO(s.output);
  CHECK(s.output.find("STEP_MARK=yes\n") != std::string::npos);
  CHECK(s.output.find("PATH=/usr/bin:/bin\n") != std::string::npos);
  CHECK(s.output.find("USER=root\n") != std::string::npos);
  CHECK(s.output.find("SUDO") == std::string::npos);
  // ls sees 0, 1, 2 and its own directory descriptor: nothing else came through.
  CHECK(s.output.ends_with("4\n"));
}

TEST_CASE("a request's files reach the step as private files of its user, removed afterwards") {
  test::TempDir dir("step");
  Supervisor s({});
  step::Request r =
      shell("echo \"path=$CHANGED\"; stat -c 'mode=%a' \"$CHANGED\"; cat \"$CHANGED\"", dir.path());
  r.files = {{"CHANGED", "server.js\npackage.json\n"}};
  s.send(r);
  const auto status = s.wait(std::chrono::seconds(20));
  REQUIRE(status);
  INFO(s.output);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(s.output.find("mode=600\nserver.js\npackage.json\n") != std::string::npos);
  const auto at = s.output.find("path=");
  REQUIRE(at != std::string::npos);
  const std::string path = s.output.substr(at + 5, s.output.find('\n', at) - at - 5);
  CHECK(path.starts_with("/tmp/deploy-step-"));
  CHECK_FALSE(std::filesystem::exists(path));  // removed once the step ended

  // The request's format: files round-trip, and a name that is no variable name is refused.
  const auto parsed = common::parse_step_request(common::format_step_request(r));
  CHECK(parsed.files == r.files);
  r.files = {{"NOT-A-NAME", "x"}};
  std::string line = common::format_step_request(r);
  line.pop_back();  // the '\n'
  CHECK_THROWS_WITH(common::parse_step_request(line),
                    Catch::Contains("malformed file variable name"));
}

TEST_CASE("a program missing from the step's PATH fails with a clear line and status 127") {
  test::TempDir dir("step");
  Supervisor s({});
  step::Request r = shell("", dir.path());
  r.argv = {"no-such-program-here"};
  s.send(r);
  const auto status = s.wait(std::chrono::seconds(20));
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 127);
  CHECK(s.output.find(
            "deploy-step: cannot run no-such-program-here (not found in the step's PATH)") !=
        std::string::npos);
}

TEST_CASE("through sudo as a real user: its uid and groups, its HOME, and nothing survives") {
  test::require_root("it runs the step as another, real user through sudo");
  const auto user = test::ensure_user("dpl-test-app");
  test::TempDir dir("step");
  REQUIRE(::chown(dir.path().c_str(), user.uid, user.gid) == 0);
  Supervisor s({"/usr/bin/sudo", "-n", "-u", user.name, "--"});
  s.send(shell("id -u; id -g; echo HOME=$HOME; setsid sleep 1000 & echo $! > pid", dir.path()));
  const auto status = s.wait(std::chrono::seconds(20));
  REQUIRE(status);
  INFO(s.output);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(s.output.starts_with(std::to_string(user.uid) + "\n" + std::to_string(user.gid) + "\n" +
                             "HOME=/nonexistent\n"));
  CHECK_FALSE(alive(pid_in(dir / "pid")));

  // A stop through sudo: closing stdin reaches deploy-step (sudo passes the descriptor as is).
  Supervisor t({"/usr/bin/sudo", "-n", "-u", user.name, "--"});
  t.send(shell("setsid sleep 1000 & echo $! > pid2; sleep 1000", dir.path()));
  const pid_t escaped = pid_in(dir / "pid2");
  t.close_control();
  REQUIRE(t.wait(std::chrono::seconds(20)));
  CHECK_FALSE(alive(escaped));
}

TEST_CASE("layout: a write failing on a full disk exits 75, any other failure 1") {
  test::require_tmpfs();
  test::TempDir dir("step-layout");
  const auto root = dir.path() / "site";
  std::filesystem::create_directories(root);
  // require_tmpfs said mounting works here: a failure now is a failure of the test.
  REQUIRE(::mount("tmpfs", root.c_str(), "tmpfs", 0, "size=64k,mode=0755") == 0);
  struct Unmount {
    std::filesystem::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{root};
  std::filesystem::create_directories(root / "releases");
  const std::string release = "20261206T012345.678Z-abcdef123456";
  const std::string sha(40, 'a');
  auto layout = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{test::bin("deploy-step").string(), "layout", root.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv);
  };
  REQUIRE(layout({"create-release", release}).status == 0);
  {
    // Fill the file system (64 KiB: a bounded number of writes).
    std::ofstream filler(root / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    for (int i = 0; i < 64 && filler.write(block.data(), block.size()) && filler.flush(); ++i) {
    }
  }
  const auto full = layout({"mark-complete", release, sha});
  INFO(full.output);
  CHECK(full.status == 75);
  CHECK_THAT(full.output, Catch::Contains("No space left on device"));
  std::filesystem::remove(root / "filler");
  const auto missing = layout({"mark-complete", "20261206T012345.678Z-000000000000", sha});
  INFO(missing.output);
  CHECK(missing.status == 1);
  CHECK(layout({"mark-complete", release, sha}).status == 0);
}
