// pm2.cpp: see pm2.hpp.
#include "tests/e2e/pm2.hpp"

#include <signal.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

#include "common/process.hpp"
#include "tests/support/child.hpp"

namespace e2e {

Pm2::Pm2(std::filesystem::path home, std::map<std::string, std::string> env)
    : home_(std::move(home)), env_(std::move(env)) {
  std::filesystem::create_directories(home_);
  env_["PM2_HOME"] = home_.string();
}

Pm2::~Pm2() {
  try {
    kill();
  } catch (...) {
    // A destructor must not throw; the daemon's pid is checked by the test itself.
  }
}

Pm2Result Pm2::run(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{test::source("pm2/node_modules/.bin/pm2").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  common::Command command;
  command.argv = std::move(argv);
  command.env = common::environment_with(env_);
  command.timeout = std::chrono::seconds(120);
  const auto result = common::run_captured(command);
  if (result.outcome.ending != common::Ending::exited) {
    throw std::runtime_error("pm2 " + result.outcome.describe() + ": " + result.err);
  }
  return Pm2Result{result.outcome.exit_code, result.out, result.err};
}

std::vector<Pm2App> Pm2::apps() const {
  const auto result = run({"jlist"});
  // jlist prints the JSON array on one line; anything else (a banner) is on other lines.
  std::string json_line;
  std::size_t start = 0;
  while (start < result.out.size()) {
    const auto end = result.out.find('\n', start);
    std::string line = result.out.substr(start, end == std::string::npos ? end : end - start);
    if (line.starts_with("[")) json_line = line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  const auto json = nlohmann::json::parse(json_line, nullptr, false);
  if (!json.is_array()) {
    throw std::runtime_error("pm2 jlist did not print JSON: " + result.out + result.err);
  }
  std::vector<Pm2App> apps;
  for (const auto& app : json) {
    Pm2App out;
    out.name = app.value("name", "");
    out.pid = app.value("pid", 0);
    const auto& env = app.contains("pm2_env") ? app["pm2_env"] : nlohmann::json::object();
    out.status = env.value("status", "");
    out.restarts = env.value("restart_time", 0);
    apps.push_back(out);
  }
  return apps;
}

std::optional<Pm2App> Pm2::app(const std::string& name) const {
  for (const auto& app : apps()) {
    if (app.name == name) return app;
  }
  return std::nullopt;
}

pid_t Pm2::daemon_pid() const {
  std::ifstream in(home_ / "pm2.pid");
  pid_t pid = 0;
  in >> pid;
  return in ? pid : 0;
}

void Pm2::kill() {
  if (killed_) return;
  killed_ = true;
  run({"kill"});
}

bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie has exited; it only waits for its (new) parent to reap it.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

std::vector<pid_t> processes_in(const std::filesystem::path& dir) {
  std::vector<pid_t> pids;
  const std::string prefix = dir.string();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_ec;
    const auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", link_ec);
    if (link_ec) continue;
    const std::string text = cwd.string();
    if (text == prefix || text.starts_with(prefix + "/")) {
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      if (!process_gone(pid)) pids.push_back(pid);
    }
  }
  return pids;
}

}  // namespace e2e
