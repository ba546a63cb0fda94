// Running the real programs from tests: spawn with argv and extra environment, capture stderr to a
// file, wait with a deadline, signal, and never leave a process behind (the destructor kills it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace test {

/// Path of a built program: $DEPLOY_BIN_DIR/<name>.
std::filesystem::path bin(const std::string& name);
/// Path inside the source tree: $DEPLOY_SOURCE_DIR/<relative>.
std::filesystem::path source(const std::string& relative);

class Child {
 public:
  /// Starts argv[0] (a path) with the current environment plus `env` (which overrides), in its own
  /// process group. stdout and stderr go to `output` (appended) when given, else to /dev/null.
  Child(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
        std::optional<std::filesystem::path> output = std::nullopt);
  ~Child();  // SIGKILL to the process group if still running, then reaps.
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;

  pid_t pid() const { return pid_; }
  /// True while the process has not been reaped.
  bool running();
  /// Sends a signal to the process (not the group).
  void signal(int sig);
  /// Waits up to `timeout`; returns the exit status (exit code, or 128+signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// SIGKILL and reap; returns immediately if already gone.
  void kill();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Runs a command to completion (argv, no shell); returns its exit status and combined output.
struct RunResult {
  int status;
  std::string output;
};
RunResult run(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Polls `predicate` every 10 ms until it is true or `timeout` passes; returns the last value.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A TCP port on 127.0.0.1 that was free a moment ago.
unsigned short free_port();

}  // namespace test

#include <thread>

template <typename Predicate>
bool test::eventually(Predicate predicate, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}
