// wait_for_checks with the REAL deployer, real git and PostgreSQL, and a local server with
// GitHub's documented shapes for the check runs and the combined status of a commit: a push
// waits (visible in `deployctl status`) and then deploys; a failing check fails it naming the
// check; a check that never reports times out; the poll deploys when no webhook comes, and the
// router's wake-up (the file it touches) makes the deployer look at once; a newer push
// supersedes a waiting one; a commit without any check or status deploys at once.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/deployer/fake_github.hpp"
#include "tests/deployer/harness.hpp"
#include "tests/support/child.hpp"

using nlohmann::json;
using test::deployer::FakeCheckRun;
using test::deployer::FakeGitHub;
using test::deployer::FakeStatus;
using test::deployer::Harness;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;

namespace {

void setup(Harness& h, const FakeGitHub& github, const json& wait, unsigned poll_s = 1) {
  h.deployment_extra["env"] = {{"OUT", h.out().string()}};
  h.steps = json::array({sh_step("record", "echo \"$DEPLOY_SHA\" >> \"$OUT/runs\"")});
  h.deployment_extra["wait_for_checks"] = wait;
  h.config_extra["github"] = {{"api_url", github.url()}, {"checks_poll_s", poll_s}};
}

std::string status_text(Harness& h) {
  return test::run(
             {test::bin("deployctl").string(), "--config", h.config_file().string(), "status"},
             {{"DATABASE_URL", h.database.url()}})
      .output;
}

// What the router does when a check webhook of the repository arrives.
void touch_wake_up(Harness& h) {
  const auto dir = h.tmp / "var" / "checks";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "app") << "";
  std::filesystem::last_write_time(dir / "app", std::filesystem::file_time_type::clock::now());
}

}  // namespace

TEST_CASE("a push waits for its checks, visibly, then deploys", "[deployer][checks]") {
  FakeGitHub github;
  Harness h;
  auto sha = h.origin.commit({{"a.txt", "1\n"}}, "first");
  h.clone();
  setup(h, github, json::array({"test", "ci/lint"}));
  github.set_check_runs(sha, {{"test", "in_progress", ""}});
  auto deployer = h.start();
  auto entry = h.webhook_push(sha);
  REQUIRE(
      test::eventually([&] { return h.state_of(entry) == "waiting"; }, std::chrono::seconds(20)));
  const auto item = h.ledger().queue_item("app", entry);
  CHECK(item->reason == "waiting for checks: ci/lint, test");
  CHECK(item->checks_deadline);
  const std::string status = status_text(h);
  INFO(status);
  CHECK(status.find("waiting for checks: ci/lint, test") != std::string::npos);
  CHECK(h.out_lines("runs").empty());

  github.set_check_runs(sha, {{"test", "completed", "success"}});
  REQUIRE(test::eventually(
      [&] { return h.ledger().queue_item("app", entry)->reason == "waiting for checks: ci/lint"; },
      std::chrono::seconds(20)));
  CHECK(h.out_lines("runs").empty());
  github.set_statuses(sha, {{"ci/lint", "success"}});
  REQUIRE(h.wait_in("done", entry));
  CHECK(h.state_of(entry) == "succeeded");
  CHECK(h.out_lines("runs") == Lines{sha});
  CHECK(github.requests_for(sha) >= 4);
}

TEST_CASE("a failing check fails the push, naming the check", "[deployer][checks]") {
  FakeGitHub github;
  Harness h;
  auto sha = h.origin.commit({{"a.txt", "1\n"}}, "first");
  h.clone();
  setup(h, github, "all");
  github.set_check_runs(sha, {{"build", "completed", "success"}, {"test", "in_progress", ""}});
  auto deployer = h.start();
  auto entry = h.webhook_push(sha);
  REQUIRE(
      test::eventually([&] { return h.state_of(entry) == "waiting"; }, std::chrono::seconds(20)));
  github.set_check_runs(sha, {{"build", "completed", "success"}, {"test", "completed", "failure"}});
  REQUIRE(h.wait_in("failed", entry));
  CHECK(h.state_of(entry) == "failed");
  CHECK(h.ledger().queue_item("app", entry)->reason == "checks: check test failure");
  CHECK(h.out_lines("runs").empty());
  const auto report = json::parse(test::read_file(h.dir("failed") / (entry + ".error.json")));
  CHECK(report["stage"] == "checks");
}

TEST_CASE("a check that never reports times out and is not deployed", "[deployer][checks]") {
  FakeGitHub github;
  Harness h;
  auto sha = h.origin.commit({{"a.txt", "1\n"}}, "first");
  h.clone();
  setup(h, github, json::array({"never"}));
  h.deployment_extra["wait_for_checks_timeout_s"] = 2;
  // Check suites of apps that never report have no check runs: nothing to see here either.
  github.set_check_runs(sha, {});
  auto deployer = h.start();
  auto entry = h.webhook_push(sha);
  REQUIRE(h.wait_in("failed", entry, std::chrono::seconds(20)));
  CHECK(h.ledger().queue_item("app", entry)->reason ==
        "checks: timed out after 2 s waiting for checks: never");
  CHECK(h.out_lines("runs").empty());
}

TEST_CASE("without any webhook the poll deploys, and a wake-up makes it look at once",
          "[deployer][checks]") {
  FakeGitHub github;
  Harness h;
  auto a = h.origin.commit({{"a.txt", "1\n"}}, "first");
  auto b = h.origin.commit({{"a.txt", "2\n"}}, "second");
  h.clone();

  SECTION("the webhook lost: the poll notices") {
    setup(h, github, json::array({"test"}), 1);
    github.set_check_runs(a, {{"test", "queued", ""}});
    auto deployer = h.start();
    auto entry = h.webhook_push(a);
    REQUIRE(
        test::eventually([&] { return h.state_of(entry) == "waiting"; }, std::chrono::seconds(20)));
    github.set_check_runs(a, {{"test", "completed", "success"}});
    REQUIRE(h.wait_in("done", entry, std::chrono::seconds(20)));
    CHECK(h.out_lines("runs") == Lines{a});
  }
  SECTION("the router's wake-up: looked at long before the 30 s poll") {
    setup(h, github, json::array({"test"}), 30);
    github.set_check_runs(b, {{"test", "queued", ""}});
    auto deployer = h.start();
    auto entry = h.webhook_push(b);
    REQUIRE(
        test::eventually([&] { return h.state_of(entry) == "waiting"; }, std::chrono::seconds(20)));
    const auto asked = github.requests_for(b);
    github.set_check_runs(b, {{"test", "completed", "success"}});
    touch_wake_up(h);
    REQUIRE(h.wait_in("done", entry, std::chrono::seconds(15)));
    CHECK(github.requests_for(b) > asked);
    CHECK(h.out_lines("runs") == Lines{b});
  }
}

TEST_CASE("a newer push supersedes a waiting one, and no checks at all is nothing to wait for",
          "[deployer][checks]") {
  FakeGitHub github;
  Harness h;
  auto a = h.origin.commit({{"a.txt", "1\n"}}, "first");
  auto b = h.origin.commit({{"a.txt", "2\n"}}, "second");
  h.clone();
  setup(h, github, "all");
  github.set_check_runs(a, {{"test", "in_progress", ""}});
  // b: no check run and no status at all (combined "pending", total_count 0): deploy at once.
  auto deployer = h.start();
  auto ea = h.webhook_push(a);
  REQUIRE(test::eventually([&] { return h.state_of(ea) == "waiting"; }, std::chrono::seconds(20)));
  auto eb = h.webhook_push(b);
  REQUIRE(h.wait_in("done", eb));
  CHECK(h.state_of(ea) == "superseded");
  CHECK(h.state_of(eb) == "succeeded");
  CHECK(h.out_lines("runs") == Lines{b});
}
