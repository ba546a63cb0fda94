// The REAL PM2 (pm2/node_modules/.bin/pm2) for end-to-end tests, with a private PM2_HOME in a
// temp folder so a test never touches the machine's own PM2 daemon. The destructor runs
// `pm2 kill` (the daemon and every app it runs), always, even when the test failed: a PM2
// daemon outlives the process that started it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace e2e {

struct Pm2Result {
  int status = -1;
  std::string out;
  std::string err;
};

/// One app of `pm2 jlist`.
struct Pm2App {
  std::string name;
  pid_t pid = 0;       ///< 0 when not running
  std::string status;  ///< "online", "stopped", "errored", "launching", ...
  int restarts = 0;    ///< pm2_env.restart_time
};

class Pm2 {
 public:
  /// `home` becomes PM2_HOME (created); `env` is added to every pm2 command's environment (and
  /// so to the apps it starts).
  Pm2(std::filesystem::path home, std::map<std::string, std::string> env);
  ~Pm2();  // kill()
  Pm2(const Pm2&) = delete;
  Pm2& operator=(const Pm2&) = delete;

  /// Runs `pm2 args...` (120 s at most).
  Pm2Result run(const std::vector<std::string>& args) const;
  /// `pm2 jlist`, parsed. Throws with pm2's output when it is not JSON.
  std::vector<Pm2App> apps() const;
  std::optional<Pm2App> app(const std::string& name) const;
  /// The daemon's pid ($PM2_HOME/pm2.pid); 0 when there is none.
  pid_t daemon_pid() const;
  /// `pm2 kill`; safe to call twice.
  void kill();

  const std::filesystem::path& home() const { return home_; }

 private:
  std::filesystem::path home_;
  std::map<std::string, std::string> env_;
  bool killed_ = false;
};

/// True when `pid` no longer runs (gone, or a zombie waiting to be reaped).
bool process_gone(pid_t pid);

/// Pids of processes whose working directory is inside `dir` (steps left behind, say).
std::vector<pid_t> processes_in(const std::filesystem::path& dir);

}  // namespace e2e
