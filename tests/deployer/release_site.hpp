// A release-mode site for the deployer's tests: the Harness with `releases`, a remote URL, and a
// small real Node.js app (server.js) whose VERSION file says how it behaves: it answers
// "<VERSION> <DEPLOY_SHA>" on every path, /up is 200 unless VERSION is "sick", and it exits at
// start when VERSION is "crash". An activate step (restart_app) restarts it from path/current in
// a session of its own, its pid in path/app.pid; AppGuard kills it at the end of the test.
#pragma once

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/rollback_entry.hpp"
#include "tests/deployer/harness.hpp"
#include "tests/support/http.hpp"

namespace test::deployer {

namespace fs = std::filesystem;
using nlohmann::json;

// The deployed app: answers "<VERSION> <DEPLOY_SHA>" on every path; /up is 200 unless VERSION is
// "sick"; exits at start when VERSION is "crash".
inline const std::string server_js = R"JS(
const http = require('http');
const fs = require('fs');
const version = fs.readFileSync('VERSION', 'utf8').trim();
if (version === 'crash') { console.error('crashing at start'); process.exit(3); }
const server = http.createServer((req, res) => {
  const sick = version === 'sick' && req.url === '/up';
  res.writeHead(sick ? 500 : 200, {'Content-Type': 'text/plain'});
  res.end(version + ' ' + (process.env.DEPLOY_SHA || ''));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.close(); process.exit(0); });
)JS";

// (Re)starts the app from path/current in a session of its own, its pid in $DEPLOY_ROOT/app.pid.
inline const std::string restart_app = R"SH(
pidfile="$DEPLOY_ROOT/app.pid"
if [ -f "$pidfile" ]; then
  old=$(cat "$pidfile")
  kill "$old" 2>/dev/null
  i=0; while kill -0 "$old" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
fi
setsid sh -c 'echo $$ > "$1"; exec node server.js' sh "$pidfile" >>"$DEPLOY_ROOT/app.log" 2>&1 < /dev/null &
i=0; while [ ! -s "$pidfile" ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done
echo "started $(cat "$pidfile") from $(pwd)"
)SH";

// Kills the app the activate steps started, whatever happened in the test.
struct AppGuard {
  fs::path pidfile;
  ~AppGuard() {
    std::ifstream in(pidfile);
    int pid = 0;
    if (in >> pid && pid > 1) ::kill(pid, SIGKILL);
  }
};

inline std::string get(unsigned short port, const std::string& path = "/") {
  try {
    auto response = test::http::roundtrip(port, test::http::simple_request("GET", path, false),
                                          std::chrono::seconds(2));
    return std::to_string(response.status) + " " + response.body;
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
}

// A harness in release mode whose app listens on `port`.
struct ReleaseSite {
  Harness h;
  unsigned short port = test::free_port();
  AppGuard guard{h.app() / "app.pid"};

  ReleaseSite() {
    h.deployment_extra = {
        {"remote", h.origin.url().string()},
        {"env", {{"OUT", h.out().string()}, {"PORT", std::to_string(port)}}},
        {"releases", {{"keep", 3}}},
    };
  }
  void with_app(bool preflight = true, bool health = true) {
    h.deployment_extra["activate"] = json::array({sh_step("restart", restart_app)});
    if (preflight) {
      h.deployment_extra["preflight"] = {{"run", {"node", "server.js"}},
                                         {"port_env", "PORT"},
                                         {"path", "/up"},
                                         {"timeout_s", 10},
                                         {"interval_ms", 50}};
    }
    if (health) {
      h.deployment_extra["health_check"] = {
          {"url", "http://127.0.0.1:" + std::to_string(port) + "/up"},
          {"expect_body", "${DEPLOY_SHA}"},
          {"timeout_s", 10},
          {"interval_ms", 50},
          {"successes", 2}};
    }
  }
  std::string commit(const std::string& version, std::map<std::string, std::string> more = {}) {
    more["VERSION"] = version + "\n";
    more["server.js"] = server_js;
    return h.origin.commit(more, "version " + version);
  }
  fs::path current() const { return h.app() / "current"; }
  std::string live_release() const { return fs::read_symlink(current()).filename().string(); }
  std::string live_revision() const {
    auto text = test::read_file(current() / "REVISION");
    return text.substr(0, text.find('\n'));
  }
  std::vector<std::string> releases() const {
    std::vector<std::string> out;
    for (const auto& item : fs::directory_iterator(h.app() / "releases")) {
      out.push_back(item.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string rollback(const std::optional<std::string>& to = std::nullopt) {
    auto name = h.next_name("rollback");
    h.drop(name, common::write_rollback_entry("example/app", to, "tester"));
    return name;
  }
};

}  // namespace test::deployer
