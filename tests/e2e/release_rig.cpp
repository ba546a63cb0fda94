// release_rig.cpp: see release_rig.hpp.
#include "tests/e2e/release_rig.hpp"

#include <signal.h>

#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/ledger/migrations.hpp"
#include "tests/support/http.hpp"

namespace e2e {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kAppFiles = {"server.js",    "ecosystem.config.js", "build.sh",
                                            "package.json", "package-lock.json",   ".gitignore"};

// `text` with `from` replaced by `to`, which must occur exactly once (so a change to the demo
// app that moves the text fails here, not silently in a test that then proves nothing).
std::string replace_once(const std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) {
    throw std::runtime_error("demo/app/server.js: expected exactly one \"" + from + "\"");
  }
  return text.substr(0, at) + to + text.substr(at + from.size());
}

std::string last_line(const std::string& text) {
  std::string last;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

std::string read_if_exists(const std::filesystem::path& file) {
  std::error_code ec;
  return std::filesystem::exists(file, ec) ? test::read_file(file) : std::string();
}

}  // namespace

Load::Load(const std::filesystem::path& dir, unsigned short port, int rate)
    : output_(dir / "load.out"),
      events_(dir / "load-events.jsonl"),
      child_({"/usr/bin/node", test::source("demo/load-client.js").string(), "--url",
              "http://127.0.0.1:" + std::to_string(port) + "/up", "--rate", std::to_string(rate),
              "--max-s", "600", "--events", events_.string()},
             {}, output_) {
  // The first answer proves the client runs and the app answers before anything is measured.
  if (!test::eventually(
          [&] { return read_if_exists(events_).find("\"version\"") != std::string::npos; }, 10s)) {
    throw std::runtime_error("the load client saw no answer within 10 s: " +
                             read_if_exists(output_) + read_if_exists(events_));
  }
}

LoadSummary Load::stop() {
  child_.signal(SIGINT);
  const auto status = child_.wait(20s);
  const std::string text = last_line(read_if_exists(output_));
  if (!status || *status != 0) {
    throw std::runtime_error("the load client did not finish cleanly: " + text);
  }
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object() || !json.contains("failed")) {
    throw std::runtime_error("the load client printed no summary: " + text);
  }
  LoadSummary summary;
  summary.requests = json.value("requests", 0L);
  summary.ok = json.value("ok", 0L);
  summary.failed = json.value("failed", 0L);
  for (const auto& [version, count] : json["versions"].items()) {
    summary.versions[version] = count.get<long>();
  }
  summary.text = text;
  return summary;
}

std::string Load::failures() const {
  std::string out;
  std::istringstream in(read_if_exists(events_));
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"error\"") != std::string::npos) out += line + "\n";
  }
  return out;
}

ReleaseRig::ReleaseRig(Options options)
    : root_("releases-e2e"),
      origin_(root_ / "repo"),
      app_port_(test::free_port()),
      config_(root_ / "deployer.json"),
      app_pm2_(root_ / "app-pm2", {}) {
  ledger::migrate(db_.url());
  // The app's PM2 daemon runs before any deploy: the activate step only talks to it (a daemon
  // started by a step would be one of the step's processes, ended with it).
  const auto ping = app_pm2_.run({"ping"});
  if (ping.status != 0) throw std::runtime_error("pm2 ping failed: " + ping.out + ping.err);

  nlohmann::json app = {
      {"repository", "example/demo"},
      {"branch", "main"},
      {"path", site().string()},
      {"remote", origin_.url().string()},
      {"coalesce", false},
      {"env",
       {{"PORT", std::to_string(app_port_)},
        {"PM2_HOME", app_pm2_.home().string()},
        {"APP_NAME", "demo-app"}}},
      {"releases", {{"keep", 4}, {"shared", {".env"}}}},
      {"steps",
       {{{"name", "install"},
         {"run", {"npm", "ci", "--no-audit", "--no-fund"}},
         {"only_if_changed", {"package-lock.json"}},
         {"timeout_s", 300}},
        {{"name", "build"}, {"run", {"sh", "build.sh"}}, {"timeout_s", 60}}}},
      {"activate",
       {{{"name", "reload"},
         {"run",
          {test::source("pm2/node_modules/.bin/pm2").string(), "startOrReload",
           "ecosystem.config.js", "--update-env"}},
         {"timeout_s", 120}}}},
      {"health_check",
       {{"url", "http://127.0.0.1:" + std::to_string(app_port_) + "/up"},
        {"expect_status", 200},
        {"expect_body", "${DEPLOY_SHA}"},
        {"timeout_s", options.health_timeout_s},
        {"interval_ms", 100},
        {"successes", 2}}},
  };
  if (options.preflight) {
    app["preflight"] = {{"run", {"/usr/bin/node", "server.js"}},
                        {"port_env", "PORT"},
                        {"path", "/up"},
                        {"timeout_s", 20},
                        {"interval_ms", 100}};
  }
  const nlohmann::json config = {
      {"instance", "releases-e2e"},
      {"state_dir", (root_ / "var").string()},
      {"allow_root", true},
      {"listen", {{"host", "127.0.0.1"}, {"port", 0}}},
      {"database", {{"url", {{"env", "DATABASE_URL"}}}}},
      {"deployments", {{"app", app}}},
  };
  test::write_file(config_, config.dump(2));
  // The shared .env exists before the first release links it in.
  std::filesystem::create_directories(site() / "shared");
  test::write_file(site() / "shared" / ".env", "GREETING=Hello from the release test\n");

  deployer_.emplace(std::vector<std::string>{test::bin("deployer").string(), "--config",
                                             config_.string(), "--deployment", "app"},
                    std::map<std::string, std::string>{{"DATABASE_URL", db_.url()}},
                    root_ / "deployer.log");
}

ReleaseRig::~ReleaseRig() {
  if (deployer_) {
    deployer_->signal(SIGTERM);
    if (!deployer_->wait(20s)) deployer_->kill();
  }
  app_pm2_.kill();
}

std::string ReleaseRig::commit(const std::string& message, Breakage breakage) {
  std::map<std::string, std::string> files;
  for (const auto& name : kAppFiles) {
    files[name] = test::read_file(test::source("demo/app/" + name));
  }
  auto& server = files["server.js"];
  switch (breakage) {
    case Breakage::none:
      break;
    case Breakage::build_fails:
      server += "\nfunction broken( {\n";
      break;
    case Breakage::crashes_at_start:
      server = "throw new Error('this release crashes at start');\n" + server;
      break;
    case Breakage::unhealthy:
      server = replace_once(server, "send(res, 200, 'application/json',",
                            "send(res, 503, 'application/json',");
      break;
  }
  files["CHANGES"] = std::to_string(++commits_) + " " + message + "\n";
  return origin_.commit(files, message);
}

std::string ReleaseRig::deploy(const std::string& sha) {
  // --no-check: the commit was just pushed to the origin, so the deployment's repo.git does not
  // have it yet (the deployer fetches it), as for a webhook push.
  const auto enqueued = deployctl({"enqueue", "app", "--sha", sha, "--no-check"});
  if (enqueued.status != 0) throw std::runtime_error("deployctl enqueue: " + enqueued.output);
  const std::string entry = last_line(enqueued.output);
  const auto var = root_ / "var";
  std::string where;
  const bool finished = test::eventually(
      [&] {
        std::error_code ec;
        // failed/ gets the entry after its error file; done/ when it deployed.
        if (std::filesystem::exists(var / "failed" / "app" / entry, ec)) where = "failed";
        if (std::filesystem::exists(var / "done" / "app" / entry, ec)) where = "done";
        return !where.empty() && !std::filesystem::exists(var / "active" / "app" / entry, ec);
      },
      180s);
  if (!finished) throw std::runtime_error("the deploy of " + sha + " did not finish:\n" + logs());
  return where;
}

test::RunResult ReleaseRig::deployctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{test::bin("deployctl").string(), "--config", config_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv, {{"DATABASE_URL", db_.url()}}, 180s);
}

std::optional<std::string> ReleaseRig::served() const {
  try {
    const auto response =
        test::http::roundtrip(app_port_, test::http::simple_request("GET", "/up", false), 5s);
    if (response.status != 200) return std::nullopt;
    return response.json().value("version", std::string());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string ReleaseRig::live() const {
  std::string revision = read_if_exists(site() / "current" / "REVISION");
  while (!revision.empty() && (revision.back() == '\n' || revision.back() == '\r')) {
    revision.pop_back();
  }
  return revision;
}

std::string ReleaseRig::logs() const {
  std::string out = "--- deployer\n" + read_if_exists(root_ / "deployer.log");
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& dir : {root_ / "var" / "logs" / "app", app_pm2_.home() / "logs"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) out += "--- " + file.string() + "\n" + read_if_exists(file);
  return out;
}

}  // namespace e2e
