// GitHub deployments end to end: the REAL router and deployer binaries post to GitHubApi, a local
// server with GitHub's request and response shapes, through the deployer's outbox. Checked: the
// status sequence of a success, a failure, an automatic rollback and an operator's rollback, a
// superseded push, and that GitHub answering 502 is retried, never fails or holds up a deploy,
// and that the deployment id survives a kill -9 (no second deployment is created).
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/deployer/github_api.hpp"
#include "tests/deployer/harness.hpp"
#include "tests/deployer/release_site.hpp"
#include "tests/support/child.hpp"

using nlohmann::json;
using test::deployer::GitHubApi;
using test::deployer::Harness;
using test::deployer::sh_step;
using namespace std::chrono_literals;
using States = std::vector<std::string>;

namespace {

const std::string kToken = "ghp_deployments_test_token";
const std::string kPublic = "https://deploy.example";

// GitHub at `api`, the token in DEPLOYER_TEST_GITHUB_TOKEN (the harness's token source), the
// dashboard's public URL for log links, and an environment of its own with a URL.
void configure(Harness& h, const GitHubApi& api, bool commit_statuses = false) {
  h.config_extra["github"] = {
      {"api_url", api.url()}, {"deployments", true}, {"commit_statuses", commit_statuses}};
  h.config_extra["dashboard"] = {{"public_url", kPublic}};
  h.deployment_extra["environment"] = "app-production";
  h.deployment_extra["environment_url"] = "https://app.example.com";
  h.env["DEPLOYER_TEST_GITHUB_TOKEN"] = kToken;
}

// The states GitHub holds for the deployment of `sha`, once they are `expected` (or the last seen).
States states_for(const GitHubApi& api, const std::string& sha, const States& expected) {
  States seen;
  test::eventually(
      [&] {
        seen = api.states(api.deployment_for(sha));
        return seen == expected;
      },
      20s);
  return seen;
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

std::string run_url(Harness& h, const std::string& entry) {
  for (const auto& run : h.ledger().history("app", 20).recent) {
    if (run.entry_name == entry) return kPublic + "/runs/" + std::to_string(run.id);
  }
  return "(no run for " + entry + ")";
}

}  // namespace

TEST_CASE("GitHub deployments: queued when routed, in_progress, then success or failure",
          "[github]") {
  Harness h;
  GitHubApi api(test::free_port(), kToken);
  api.start();
  configure(h, api);
  const auto a = h.origin.commit({{"VERSION", "good\n"}}, "Good one");
  h.clone();
  h.steps = json::array({sh_step("build", "test \"$(cat VERSION)\" != bad")});
  auto deployer = h.start();
  auto router = h.start_router();
  const auto first = h.inbox_push(a);
  REQUIRE(h.wait_in("done", first));
  CHECK(states_for(api, a, {"queued", "in_progress", "success"}) ==
        States{"queued", "in_progress", "success"});
  REQUIRE(api.deployments().size() == 1);
  const auto created = api.deployments()[0];
  CHECK(created["ref"] == a);  // the exact commit
  CHECK(created["auto_merge"] == false);
  CHECK(created["required_contexts"] == json::array());
  CHECK(created["environment"] == "app-production");
  CHECK(created["transient_environment"] == false);
  const auto statuses = api.statuses(api.deployment_for(a));
  REQUIRE(statuses.size() == 3);
  CHECK_FALSE(statuses[0].contains("log_url"));  // routed: no run yet
  CHECK(statuses[1]["log_url"] == run_url(h, first));
  CHECK(statuses[2]["log_url"] == run_url(h, first));
  CHECK(statuses[2]["environment_url"] == "https://app.example.com");
  CHECK(statuses[2]["environment"] == "app-production");
  CHECK(statuses[2]["description"].get<std::string>().starts_with("Deployed"));
  for (const auto& request : api.requests()) {
    CHECK(request.headers.at("authorization") == "Bearer " + kToken);
    CHECK(request.headers.at("accept") == "application/vnd.github+json");
  }

  const auto b = h.origin.commit({{"VERSION", "bad\n"}}, "Bad one");
  const auto second = h.inbox_push(b);
  REQUIRE(h.wait_in("failed", second));
  CHECK(states_for(api, b, {"queued", "in_progress", "failure"}) ==
        States{"queued", "in_progress", "failure"});
  const auto failed = api.statuses(api.deployment_for(b));
  REQUIRE(failed.size() == 3);
  CHECK(failed[2]["description"].get<std::string>().find("step build") != std::string::npos);
  CHECK(failed[2]["log_url"] == run_url(h, second));
  CHECK(api.deployments().size() == 2);
  CHECK(h.deployer_log().find(kToken) == std::string::npos);
  deployer.signal(SIGTERM);
  CHECK(deployer.wait(10s) == 0);
  router.signal(SIGTERM);
  CHECK(router.wait(10s) == 0);
}

TEST_CASE("GitHub deployments: a rollback marks the rolled-back one inactive, the restored success",
          "[github]") {
  test::deployer::ReleaseSite site;
  Harness& h = site.h;
  GitHubApi api(test::free_port(), kToken);
  api.start();
  configure(h, api);
  h.deployment_extra["activate"] =
      json::array({sh_step("check", "test \"$(cat VERSION)\" != bad")});
  const auto a = site.commit("a");
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  CHECK(states_for(api, a, {"in_progress", "success"}) == States{"in_progress", "success"});

  // Automatic: the new release was live, its activate step failed, current went back to a's.
  const auto bad = site.commit("bad");
  const auto second = h.webhook_push(bad);
  REQUIRE(h.wait_in("failed", second));
  CHECK(states_for(api, bad, {"in_progress", "failure", "inactive"}) ==
        States{"in_progress", "failure", "inactive"});
  CHECK(api.statuses(api.deployment_for(bad))[1]["description"] ==
        "rolled back: activate check failed");
  CHECK(states_for(api, a, {"in_progress", "success", "success"}) ==
        States{"in_progress", "success", "success"});

  // An operator's rollback from c back to a: its own deployment of a, c's marked inactive.
  const auto c = site.commit("c");
  const auto third = h.webhook_push(c);
  REQUIRE(h.wait_in("done", third));
  CHECK(states_for(api, c, {"in_progress", "success"}) == States{"in_progress", "success"});
  const auto back = site.rollback(a);
  REQUIRE(h.wait_in("done", back));
  CHECK(site.live_revision() == a);
  CHECK(states_for(api, c, {"in_progress", "success", "inactive"}) ==
        States{"in_progress", "success", "inactive"});
  CHECK(states_for(api, a, {"in_progress", "success"}) == States{"in_progress", "success"});
  CHECK(api.deployments().size() == 4);  // a, bad, c, and the rollback's deployment of a
  deployer.signal(SIGTERM);
  CHECK(deployer.wait(10s) == 0);
}

TEST_CASE("GitHub deployments: a superseded push ends in error 'superseded by <sha>'", "[github]") {
  Harness h;
  GitHubApi api(test::free_port(), kToken);
  api.start();
  configure(h, api);
  const auto a = h.origin.commit({{"f", "a\n"}}, "A");
  h.clone();
  const auto b = h.origin.commit({{"f", "b\n"}}, "B");
  const auto older = h.webhook_push(a);
  const auto newer = h.webhook_push(b);  // contains a: a is superseded before anything runs
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", newer));
  REQUIRE(h.wait_in("done", older));
  CHECK(h.state_of(older) == "superseded");
  CHECK(states_for(api, a, {"error"}) == States{"error"});
  CHECK(api.statuses(api.deployment_for(a))[0]["description"] == "superseded by " + b.substr(0, 7));
  CHECK(states_for(api, b, {"in_progress", "success"}) == States{"in_progress", "success"});
  deployer.signal(SIGTERM);
  CHECK(deployer.wait(10s) == 0);
}

TEST_CASE(
    "GitHub answering 502: retried from the outbox, the deploy neither fails nor waits, "
    "and the deployment id survives a kill -9",
    "[github]") {
  Harness h;
  GitHubApi api(test::free_port(), kToken);
  api.start();
  configure(h, api, true);  // commit statuses too: they stay, beside the deployments
  api.fail_next(2, 502, GitHubApi::Kind::create);
  api.fail_next(1000, 502, GitHubApi::Kind::deployment_status);
  const auto a = h.origin.commit({{"f", "a\n"}}, "A");
  h.clone();
  const auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));  // while GitHub fails
  CHECK(h.state_of(entry) == "succeeded");
  REQUIRE(h.wait_log("GitHub deployment status not posted: kept in the outbox, retrying"));
  REQUIRE(test::eventually([&] { return api.deployments().size() == 1; }, 20s));
  // Logged once its id is recorded (a kill before that would create a second one, as documented).
  REQUIRE(h.wait_log("GitHub deployment created"));
  REQUIRE(h.wait_log("error=\"deployment status: HTTP 502\""));
  CHECK(api.states(api.deployment_for(a)).empty());
  deployer.kill();  // SIGKILL with the statuses still in the outbox

  api.clear_failures();
  auto again = h.start();
  CHECK(states_for(api, a, {"in_progress", "success"}) == States{"in_progress", "success"});
  CHECK(api.deployments().size() == 1);  // the id was read back, not created twice
  // The commit statuses, unaffected: pending then success.
  REQUIRE(test::eventually([&] { return api.commit_statuses().size() == 2; }, 20s));
  CHECK(api.commit_statuses()[0]["state"] == "pending");
  CHECK(api.commit_statuses()[1]["state"] == "success");
  CHECK(api.commit_statuses()[1]["sha"] == a);
  CHECK(test::eventually([&] { return outbox_files(h) == 0; }, 10s));
  again.signal(SIGTERM);
  CHECK(again.wait(10s) == 0);
}
