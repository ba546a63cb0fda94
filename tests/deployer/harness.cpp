// The deployer integration harness; see harness.hpp.
#include "tests/deployer/harness.hpp"

#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/entry.hpp"
#include "common/ledger/migrations.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/scan.hpp"
#include "tests/support/http.hpp"

namespace test::deployer {

namespace {

std::string make_url(const std::string& url) {
  ledger::migrate(url);
  return url;
}

}  // namespace

Harness::Harness(const std::string& server_url)
    : tmp("deployer-test"),
      database(server_url),
      origin(tmp / "repo"),
      app_(tmp / "app"),
      ledger_(make_url(database.url())) {
  std::filesystem::create_directories(out());
  queue_layout::Layout layout(tmp / "var");
  if (auto ec = queue_layout::ensure_layout(layout, {"app"})) {
    throw std::runtime_error("ensure_layout: " + ec.message());
  }
}

Harness::~Harness() {
  const char* show = std::getenv("DEPLOY_TEST_SHOW_LOG");
  if (std::uncaught_exceptions() > 0 || (show != nullptr && std::string(show) == "1")) {
    std::cerr << "---- deployer.log ----\n" << deployer_log() << "---- end ----\n";
  }
}

std::filesystem::path Harness::dir(const std::string& folder) const {
  queue_layout::Layout layout(tmp / "var");
  if (folder == "queue") return layout.queue("app");
  if (folder == "active") return layout.active("app");
  if (folder == "done") return layout.done("app");
  if (folder == "failed") return layout.failed("app");
  if (folder == "logs") return layout.logs("app");
  throw std::invalid_argument("no folder " + folder);
}

void Harness::write_config() {
  nlohmann::json deployment = {
      {"repository", "example/app"},
      {"branch", "main"},
      {"path", app_.string()},
      {"env", {{"INSTANCE_NAME", "app.example.com"}}},
      {"steps", steps},
  };
  deployment.merge_patch(deployment_extra);
  nlohmann::json config = {
      {"instance", "test"},
      {"state_dir", (tmp / "var").string()},
      {"allow_root", true},
      {"database", {{"url", {{"env", "DATABASE_URL"}}}}},
      // GitHub deployments only where a test turns them on (github_test.cpp): the commit-status
      // tests count every request their server gets.
      {"github", {{"token", {{"env", "DEPLOYER_TEST_GITHUB_TOKEN"}}}, {"deployments", false}}},
      {"router", {{"settle_ms", 300}}},
      {"deployments", {{"app", deployment}}},
  };
  config.merge_patch(config_extra);
  write_file(config_file(), config.dump(2));
}

std::string Harness::next_name(const std::string& uniquifier) {
  return clock_.next(uniquifier);
}

void Harness::drop(const std::string& name, const std::string& text) {
  if (auto ec = queue_layout::publish(dir("queue"), name, text)) {
    throw std::runtime_error("publish " + name + ": " + ec.message());
  }
}

std::string Harness::webhook_push(const std::string& sha, const std::string& ref,
                                  const std::string& delivery_id) {
  std::string delivery = delivery_id.empty() ? http::random_delivery() : delivery_id;
  nlohmann::json payload = {
      {"ref", ref},
      {"before", std::string(40, '0')},
      {"after", sha},
      {"repository", {{"full_name", "example/app"}}},
  };
  common::EntryMeta meta;
  meta.id = delivery;
  meta.event = "push";
  meta.hook_id = "123456";
  std::string name = next_name(delivery);
  // The ledger row before the file, as the router does: the deployer must find it queued.
  ledger_.record_routing({"app"}, name, ledger::DeliveryKey{"123456", delivery}, sha, ref);
  drop(name, common::write_entry(meta, payload.dump()));
  return name;
}

std::string Harness::inbox_push(const std::string& sha, const std::string& ref) {
  const std::string delivery = http::random_delivery();
  nlohmann::json payload = {
      {"ref", ref},
      {"before", std::string(40, '0')},
      {"after", sha},
      {"repository", {{"full_name", "example/app"}}},
  };
  common::EntryMeta meta;
  meta.id = delivery;
  meta.event = "push";
  meta.hook_id = "123456";
  const std::string name = next_name(delivery);
  const auto inbox = queue_layout::Layout(tmp / "var").inbox();
  if (auto ec = queue_layout::publish(inbox, name, common::write_entry(meta, payload.dump()))) {
    throw std::runtime_error("publish " + name + ": " + ec.message());
  }
  return name;
}

std::string Harness::operator_replay(const std::string& sha, const std::string& ref) {
  std::string name = next_name("replay");
  drop(name, common::write_replay_entry("example/app", ref, sha, "tester"));
  return name;
}

Child Harness::start(const std::vector<std::string>& extra_args) {
  write_config();
  std::vector<std::string> argv{bin("deployer").string(), "--config", config_file().string(),
                                "--deployment", "app"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::map<std::string, std::string> environment = env;
  environment.emplace("DATABASE_URL", database.url());
  environment.emplace("DEPLOY_ALLOW_ROOT", "1");
  environment.emplace("DEPLOY_LOG_LEVEL", "debug");
  for (const auto& [k, v] : git_env()) environment.emplace(k, v);
  return Child(argv, environment, log_file());
}

Child Harness::start_router() {
  write_config();
  std::map<std::string, std::string> environment = env;
  environment.emplace("DATABASE_URL", database.url());
  environment.emplace("DEPLOY_ALLOW_ROOT", "1");
  return Child({bin("router").string(), "--config", config_file().string()}, environment,
               tmp / "router.log");
}

std::string Harness::deployer_log() const {
  try {
    return read_file(log_file());
  } catch (const std::exception&) {
    return "";
  }
}

bool Harness::wait_log(const std::string& text, std::chrono::milliseconds timeout) const {
  return eventually([&] { return deployer_log().find(text) != std::string::npos; }, timeout);
}

bool Harness::in(const std::string& folder, const std::string& name) const {
  return queue_layout::exists(dir(folder), name);
}

bool Harness::wait_in(const std::string& folder, const std::string& entry,
                      std::chrono::milliseconds timeout) const {
  return eventually(
      [&] { return in(folder, entry) && (folder == "active" || !in("active", entry)); }, timeout);
}

std::vector<std::string> Harness::out_lines(const std::string& name) const {
  std::vector<std::string> lines;
  std::ifstream in(out() / name);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string Harness::state_of(const std::string& entry) {
  auto item = ledger_.queue_item("app", entry);
  return item ? std::string(ledger::to_string(item->state)) : "none";
}

nlohmann::json sh_step(const std::string& name, const std::string& script, nlohmann::json extra) {
  nlohmann::json step = {{"name", name}, {"run", {"/bin/sh", "-c", script}}};
  step.merge_patch(extra);
  return step;
}

bool process_gone(int pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace test::deployer
