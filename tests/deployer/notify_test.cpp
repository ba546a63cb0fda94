// Notifications end to end: the REAL deployer binary deploys, queues its notifications in
// state_dir/outbox/app/ and delivers them over real HTTP on loopback to a NotifyServer that checks
// the X-Deployer-Signature-256 of every body; a push waiting for its checks (a local server with
// GitHub's shapes) is announced once. Also the REAL deployctl notify-test.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/deployer/fake_github.hpp"
#include "tests/deployer/harness.hpp"
#include "tests/deployer/notify_server.hpp"
#include "tests/deployer/release_site.hpp"
#include "tests/support/child.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::NotifyServer;
using test::deployer::sh_step;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "notify-test-secret";

// A signed webhook notification "ops" and a Slack-shaped one "chat", both to `server`.
void configure(Harness& h, const NotifyServer& server, const json& ops_on, const json& chat_on) {
  h.config_extra = {{"notify", json::array({{{"name", "ops"},
                                             {"type", "webhook"},
                                             {"url", {{"env", "NOTIFY_URL"}}},
                                             {"secret", {{"env", "NOTIFY_SECRET"}}},
                                             {"on", ops_on}},
                                            {{"name", "chat"},
                                             {"type", "slack"},
                                             {"url", {{"env", "NOTIFY_CHAT_URL"}}},
                                             {"on", chat_on},
                                             {"deployments", {"app"}}}})}};
  h.env = {{"NOTIFY_URL", server.url("/ops")},
           {"NOTIFY_SECRET", kSecret},
           {"NOTIFY_CHAT_URL", server.url("/chat")}};
}

std::size_t outbox_files(const Harness& h) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& file :
       std::filesystem::directory_iterator(h.tmp / "var" / "outbox" / "app", ec)) {
    if (file.path().extension() == ".json") ++n;
  }
  return n;
}

std::vector<test::deployer::Notified> to(const NotifyServer& server, const std::string& target) {
  std::vector<test::deployer::Notified> out;
  for (auto& r : server.received()) {
    if (r.target == target) out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("a failed deploy notifies once, signed, and the next success is 'recovered'",
          "[notify]") {
  Harness h;
  NotifyServer server(test::free_port(), kSecret);
  server.start();
  configure(h, server, {"failed", "recovered"}, {"waiting"});
  const auto a = h.origin.commit({{"README.md", "a\n"}}, "Break the build\n\nlong text");
  h.clone();
  h.steps = json::array({sh_step("build", "test -f ok")});
  const auto first = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", first));
  REQUIRE(test::eventually([&] { return to(server, "/ops").size() == 1; }, 20s));
  const auto failed = to(server, "/ops").front();
  CHECK(failed.signature_ok);
  CHECK(failed.headers.at("content-type").starts_with("application/json"));
  const auto body = failed.json();
  CHECK(body["deployment"] == "app");
  CHECK(body["outcome"] == "failed");
  CHECK(body["sha"] == a);
  CHECK(body["subject"] == "Break the build");
  CHECK(body["author"] == "Test Author");
  CHECK(body["text"].get<std::string>().find(a.substr(0, 7)) != std::string::npos);
  CHECK(body["duration_s"].get<double>() >= 0);

  const auto b = h.origin.commit({{"ok", "\n"}}, "Fix the build");
  const auto second = h.webhook_push(b);
  REQUIRE(h.wait_in("done", second));
  REQUIRE(test::eventually([&] { return to(server, "/ops").size() == 2; }, 20s));
  const auto recovered = to(server, "/ops")[1];
  CHECK(recovered.signature_ok);
  CHECK(recovered.json()["outcome"] == "recovered");
  CHECK(recovered.json()["subject"] == "Fix the build");

  // A third deploy succeeds after a success: not "recovered", and "ops" does not ask for
  // "succeeded". "chat" asks only for "waiting": it never gets anything.
  const auto c = h.origin.commit({{"c", "\n"}}, "More");
  const auto third = h.webhook_push(c);
  REQUIRE(h.wait_in("done", third));  // its notifications, if any, were queued before the move
  REQUIRE(test::eventually([&] { return outbox_files(h) == 0; }, 10s));
  std::this_thread::sleep_for(1500ms);  // a wrongly queued message would have been sent by now
  CHECK(to(server, "/ops").size() == 2);
  CHECK(to(server, "/chat").empty());
  deployer.signal(SIGTERM);
  CHECK(deployer.wait(10s) == 0);
}

TEST_CASE("release mode: a rollback notifies 'rolled_back', each message links its run's page",
          "[notify]") {
  test::deployer::ReleaseSite site;
  Harness& h = site.h;
  NotifyServer server(test::free_port(), kSecret);
  server.start();
  configure(h, server, {"succeeded", "rolled_back"}, {"waiting"});
  h.config_extra["dashboard"] = {{"public_url", "https://deploy.example/"}};
  h.deployment_extra["activate"] =
      json::array({sh_step("check", "test \"$(cat VERSION)\" != bad")});
  const auto a = site.commit("a");
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto bad = site.commit("bad");
  const auto second = h.webhook_push(bad);
  REQUIRE(h.wait_in("failed", second));
  REQUIRE(test::eventually([&] { return to(server, "/ops").size() == 2; }, 20s));
  const auto got = to(server, "/ops");
  CHECK(got[0].json()["outcome"] == "succeeded");
  CHECK(got[1].signature_ok);
  const auto body = got[1].json();
  CHECK(body["outcome"] == "rolled_back");
  CHECK(body["sha"] == bad);
  CHECK(body["subject"] == "version bad");
  CHECK(body["error"].get<std::string>().find("activate check") != std::string::npos);
  // The run pages of the dashboard: public_url (its trailing '/' dropped) + /runs/<ledger run id>.
  const auto runs = h.ledger().history("app", 10).recent;  // newest first
  REQUIRE(runs.size() == 2);
  CHECK(got[0].json()["log_url"] == "https://deploy.example/runs/" + std::to_string(runs[1].id));
  CHECK(body["log_url"] == "https://deploy.example/runs/" + std::to_string(runs[0].id));
  CHECK(body["text"].get<std::string>().find("https://deploy.example/runs/") != std::string::npos);
  deployer.signal(SIGTERM);
  CHECK(deployer.wait(10s) == 0);
}

TEST_CASE("the endpoint down: delivered once after it returns, across a kill -9", "[notify]") {
  Harness h;
  NotifyServer server(test::free_port(), kSecret);  // not listening yet: connections refused
  configure(h, server, {"failed"}, {"succeeded"});
  const auto a = h.origin.commit({{"README.md", "a\n"}}, "Deploy me");
  h.clone();
  h.steps = json::array({sh_step("build", "exit 3")});
  const auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", entry));
  // Both tried and refused at least once, and kept.
  REQUIRE(h.wait_log("notification not delivered: kept in the outbox, retrying"));
  REQUIRE(outbox_files(h) == 1);  // "chat" wants "succeeded" only
  deployer.kill();                // SIGKILL while the endpoint is down
  REQUIRE(outbox_files(h) == 1);

  server.start();
  auto again = h.start();
  REQUIRE(test::eventually([&] { return to(server, "/ops").size() == 1; }, 20s));
  REQUIRE(test::eventually([&] { return outbox_files(h) == 0; }, 10s));
  std::this_thread::sleep_for(1500ms);
  const auto got = server.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].target == "/ops");
  CHECK(got[0].signature_ok);
  CHECK(got[0].json()["outcome"] == "failed");
  CHECK(got[0].json()["sha"] == a);
  CHECK(got[0].json()["error"].get<std::string>().find("build") != std::string::npos);
  again.signal(SIGTERM);
  CHECK(again.wait(10s) == 0);
}

TEST_CASE("a push waiting for its checks notifies 'waiting' once, not again after a kill -9",
          "[notify]") {
  test::deployer::FakeGitHub github;
  Harness h;
  NotifyServer server(test::free_port(), kSecret);
  server.start();
  configure(h, server, {"waiting"}, {"succeeded"});
  h.config_extra["github"] = {{"api_url", github.url()}, {"checks_poll_s", 1}};
  h.deployment_extra["wait_for_checks"] = json::array({"test"});
  const auto a = h.origin.commit({{"README.md", "a\n"}}, "Wait for CI");
  h.clone();
  github.set_check_runs(a, {{"test", "in_progress", ""}});
  auto deployer = h.start();
  const auto entry = h.webhook_push(a);
  REQUIRE(test::eventually([&] { return to(server, "/ops").size() == 1; }, 20s));
  const auto waiting = to(server, "/ops").front();
  CHECK(waiting.signature_ok);
  const auto body = waiting.json();
  CHECK(body["outcome"] == "waiting");
  CHECK(body["sha"] == a);
  CHECK(body["subject"] == "Wait for CI");
  CHECK(body["error"] == "test");
  CHECK(body["text"].get<std::string>().find("app: waiting for checks: " + a.substr(0, 7)) !=
        std::string::npos);

  // Killed while waiting: the restarted deployer waits on (it asks GitHub again) and does not
  // announce the same wait a second time.
  deployer.kill();
  REQUIRE(h.state_of(entry) == "waiting");
  const auto asked = github.requests_for(a);
  auto again = h.start();
  REQUIRE(test::eventually([&] { return github.requests_for(a) >= asked + 2; }, 20s));
  github.set_check_runs(a, {{"test", "completed", "success"}});
  REQUIRE(h.wait_in("done", entry));
  REQUIRE(test::eventually([&] { return to(server, "/chat").size() == 1; }, 20s));
  REQUIRE(test::eventually([&] { return outbox_files(h) == 0; }, 10s));
  CHECK(to(server, "/ops").size() == 1);
  CHECK(to(server, "/chat")[0].json()["text"].get<std::string>().find("deployed") !=
        std::string::npos);
  again.signal(SIGTERM);
  CHECK(again.wait(10s) == 0);
}

TEST_CASE("deployctl notify-test sends one signed test message and reports the status",
          "[notify]") {
  Harness h;
  NotifyServer server(test::free_port(), kSecret);
  server.start();
  configure(h, server, {"failed"}, {"failed"});
  h.write_config();
  std::map<std::string, std::string> env = h.env;
  env["DEPLOY_ALLOW_ROOT"] = "1";
  const auto config = h.config_file().string();

  auto ok =
      test::run({test::bin("deployctl").string(), "--config", config, "notify-test", "ops"}, env);
  INFO(ok.output);
  CHECK(ok.status == 0);
  CHECK(ok.output.find("HTTP 204") != std::string::npos);
  REQUIRE(server.received().size() == 1);
  CHECK(server.received()[0].signature_ok);
  CHECK(server.received()[0].json()["outcome"] == "test");

  auto chat =
      test::run({test::bin("deployctl").string(), "--config", config, "notify-test", "chat"}, env);
  CHECK(chat.status == 0);
  REQUIRE(server.received().size() == 2);
  CHECK(server.received()[1].target == "/chat");
  CHECK(server.received()[1].json().contains("text"));

  auto unknown = test::run(
      {test::bin("deployctl").string(), "--config", config, "notify-test", "nobody"}, env);
  CHECK(unknown.status == 2);
  CHECK(unknown.output.find("no notification named \"nobody\"") != std::string::npos);

  server.stop();  // down: the command fails and says why, without the URL
  auto down =
      test::run({test::bin("deployctl").string(), "--config", config, "notify-test", "ops"}, env);
  CHECK(down.status == 1);
  CHECK(down.output.find("not delivered") != std::string::npos);
  CHECK(down.output.find("127.0.0.1") == std::string::npos);

  env.erase("NOTIFY_SECRET");  // an unset secret: refused before sending
  server.start();
  auto unsigned_ =
      test::run({test::bin("deployctl").string(), "--config", config, "notify-test", "ops"}, env);
  CHECK(unsigned_.status == 1);
  CHECK(unsigned_.output.find("NOTIFY_SECRET is not set") != std::string::npos);
  CHECK(server.received().size() == 2);
}
