// Automatic retries with the REAL deployer, real git and PostgreSQL: a fetch that fails while
// the remote is unreachable is retried with back-off and succeeds once it is back (each attempt
// with its own log, `deployctl status` showing the next attempt); a failing build is not retried
// unless its exit code is listed; kill -9 during the back-off neither loses the entry nor
// deploys it twice; a newer push ends the retries, and that failure is announced.
#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/deployer/harness.hpp"
#include "tests/deployer/notify_server.hpp"
#include "tests/support/child.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;

namespace {

void record_runs(Harness& h, const std::string& exit_from_file = "") {
  h.deployment_extra["env"] = {{"OUT", h.out().string()}};
  std::string script = "echo \"$DEPLOY_SHA\" >> \"$OUT/runs\"";
  // status.txt of the commit says how the step ends: a code, or "75-once" (75, then 0).
  if (!exit_from_file.empty()) {
    script +=
        "; s=$(cat status.txt); if [ \"$s\" = 75-once ]; then "
        "if [ -e \"$OUT/tried-$DEPLOY_SHA\" ]; then exit 0; fi; "
        "touch \"$OUT/tried-$DEPLOY_SHA\"; exit 75; fi; exit \"$s\"";
  }
  h.steps = json::array({sh_step("build", script)});
}

std::string status_text(Harness& h) {
  return test::run(
             {test::bin("deployctl").string(), "--config", h.config_file().string(), "status"},
             {{"DATABASE_URL", h.database.url()}})
      .output;
}

// The origin made unreachable (a fetch from it fails) and back, by renaming its folder.
struct Outage {
  explicit Outage(const std::filesystem::path& origin) : origin_(origin) {
    std::filesystem::rename(origin_, away());
  }
  ~Outage() { restore(); }
  void restore() {
    if (std::filesystem::exists(away())) std::filesystem::rename(away(), origin_);
  }
  std::filesystem::path away() const { return origin_.string() + ".away"; }
  std::filesystem::path origin_;
};

}  // namespace

TEST_CASE("a fetch failing while the remote is unreachable is retried and succeeds",
          "[deployer][retry]") {
  Harness h;
  auto first = h.origin.commit({{"server.js", "1\n"}}, "first");
  h.clone();
  record_runs(h);
  h.deployment_extra["retry"] = {{"attempts", 3}, {"backoff_s", 3}};
  auto deployer = h.start();
  auto e1 = h.webhook_push(first);
  REQUIRE(h.wait_in("done", e1));

  auto second = h.origin.commit({{"server.js", "2\n"}}, "second");
  Outage outage(h.origin.url());
  auto e2 = h.webhook_push(second);
  REQUIRE(h.wait_log("deploy failed, retrying later deployment=app entry=" + e2));
  CHECK(h.state_of(e2) == "retrying");
  const auto item = h.ledger().queue_item("app", e2);
  REQUIRE(item);
  CHECK(item->attempt == 2);
  REQUIRE(item->next_attempt_at);
  // The clone's remote is "origin" (a path to the bare origin, renamed away).
  CHECK(item->reason.starts_with("git fetch: fetching from origin failed"));
  // deployctl status says when the next attempt comes.
  const std::string status = status_text(h);
  INFO(status);
  CHECK(status.find("retrying: attempt 2 at ") != std::string::npos);
  CHECK(h.in("active", e2));

  outage.restore();
  REQUIRE(h.wait_in("done", e2));
  CHECK(h.state_of(e2) == "succeeded");
  CHECK(test::checked_out(h.app()) == second);
  CHECK(h.out_lines("runs") == Lines{first, second});
  // Each attempt has its own log; <entry>.log is the last one's.
  const std::string first_log = test::read_file(h.dir("logs") / (e2 + ".attempt-1.log"));
  CHECK(first_log.find("fetching from") != std::string::npos);
  CHECK(first_log.find("attempt 1 failed") != std::string::npos);
  const std::string last_log = test::read_file(h.dir("logs") / (e2 + ".log"));
  CHECK(last_log.find(", attempt ") != std::string::npos);
  CHECK(last_log.find("deploy succeeded") != std::string::npos);
  // The history: the failed attempt, then the success (nothing interrupted, nothing twice).
  Lines outcomes;
  for (const auto& run : h.ledger().history("app", 20).recent) {
    if (run.entry_name == e2 && run.outcome) outcomes.emplace_back(ledger::to_string(*run.outcome));
  }
  CHECK(outcomes.front() == "succeeded");
  CHECK(outcomes.size() >= 2);
  CHECK(std::count(outcomes.begin(), outcomes.end(), "succeeded") == 1);
}

TEST_CASE("a failing build is not retried, a step exiting with a listed code is",
          "[deployer][retry]") {
  Harness h;
  auto good = h.origin.commit({{"status.txt", "0\n"}}, "good");
  h.clone();
  record_runs(h, "status.txt");
  h.deployment_extra["retry"] = {{"attempts", 2}, {"backoff_s", 1}, {"exit_codes", {75}}};
  auto deployer = h.start();
  auto e1 = h.webhook_push(good);
  REQUIRE(h.wait_in("done", e1));

  auto broken = h.origin.commit({{"status.txt", "1\n"}}, "broken");
  auto e2 = h.webhook_push(broken);
  REQUIRE(h.wait_in("failed", e2));
  CHECK(h.state_of(e2) == "failed");
  CHECK_FALSE(std::filesystem::exists(h.dir("logs") / (e2 + ".attempt-1.log")));
  CHECK(h.out_lines("runs") == Lines{good, broken});

  auto flaky = h.origin.commit({{"status.txt", "75-once\n"}}, "flaky");
  auto e3 = h.webhook_push(flaky);
  REQUIRE(h.wait_in("done", e3));
  CHECK(h.state_of(e3) == "succeeded");
  CHECK(h.out_lines("runs") == Lines{good, broken, flaky, flaky});
  CHECK(test::read_file(h.dir("logs") / (e3 + ".attempt-1.log")).find("exited with status 75") !=
        std::string::npos);
}

TEST_CASE("kill -9 during the back-off loses nothing and deploys once, at the due time",
          "[deployer][retry]") {
  Harness h;
  auto first = h.origin.commit({{"server.js", "1\n"}}, "first");
  h.clone();
  record_runs(h);
  h.deployment_extra["retry"] = {{"attempts", 2}, {"backoff_s", 4}};
  auto second = h.origin.commit({{"server.js", "2\n"}}, "second");
  std::string entry;
  {
    Outage outage(h.origin.url());
    auto deployer = h.start();
    entry = h.webhook_push(second);
    REQUIRE(h.wait_log("deploy failed, retrying later deployment=app entry=" + entry));
    deployer.signal(SIGKILL);
    REQUIRE(deployer.wait(std::chrono::seconds(10)));
  }
  const auto item = h.ledger().queue_item("app", entry);
  REQUIRE(item);
  REQUIRE(item->next_attempt_at);
  CHECK(h.in("active", entry));

  auto restarted = h.start();
  REQUIRE(h.wait_in("done", entry));
  CHECK(h.state_of(entry) == "succeeded");
  CHECK(h.out_lines("runs") == Lines{second});
  std::vector<ledger::Run> runs;
  for (const auto& run : h.ledger().history("app", 20).recent) {
    if (run.entry_name == entry) runs.push_back(run);
  }
  REQUIRE(runs.size() == 2);  // the failed attempt and the one after the restart, no other
  CHECK(runs[0].outcome == ledger::RunOutcome::succeeded);
  CHECK(runs[1].outcome == ledger::RunOutcome::failed);
  // The restarted deployer waited for the recorded time (the ledger's clock and ours agree
  // within the same machine; a millisecond of rounding allowed).
  CHECK(runs[0].started_at + std::chrono::milliseconds(1) >= *item->next_attempt_at);
}

TEST_CASE("a newer push during the back-off ends the retries and is deployed",
          "[deployer][retry]") {
  Harness h;
  auto first = h.origin.commit({{"server.js", "1\n"}}, "first");
  h.clone();
  record_runs(h);
  h.deployment_extra["retry"] = {{"attempts", 3}, {"backoff_s", 30}};
  test::deployer::NotifyServer server(test::free_port(), "retry-notify-secret");
  server.start();
  h.config_extra["notify"] = json::array({{{"name", "ops"},
                                           {"type", "webhook"},
                                           {"url", {{"env", "NOTIFY_URL"}}},
                                           {"secret", {{"env", "NOTIFY_SECRET"}}},
                                           {"on", {"failed"}}}});
  h.env = {{"NOTIFY_URL", server.url("/ops")}, {"NOTIFY_SECRET", "retry-notify-secret"}};
  auto deployer = h.start();
  auto second = h.origin.commit({{"server.js", "2\n"}}, "second");
  auto third = h.origin.commit({{"server.js", "3\n"}}, "third");
  std::string e2;
  {
    Outage outage(h.origin.url());
    e2 = h.webhook_push(second);
    REQUIRE(h.wait_log("deploy failed, retrying later deployment=app entry=" + e2));
  }
  auto e3 = h.webhook_push(third);
  REQUIRE(h.wait_in("failed", e2, std::chrono::seconds(10)));
  CHECK(h.state_of(e2) == "failed");
  CHECK(h.ledger().queue_item("app", e2)->reason.find("not retried: the newer entry " + e3) !=
        std::string::npos);
  REQUIRE(h.wait_in("done", e3));
  CHECK(h.state_of(e3) == "succeeded");
  CHECK(h.out_lines("runs") == Lines{third});
  // The ended retries are a failure like any other: announced once, naming the newer entry.
  REQUIRE(test::eventually([&] { return !server.received().empty(); }, std::chrono::seconds(20)));
  const auto sent = server.received();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].signature_ok);
  const auto body = sent[0].json();
  CHECK(body["outcome"] == "failed");
  CHECK(body["sha"] == second);
  CHECK(body["error"].get<std::string>().find("not retried: the newer entry " + e3) !=
        std::string::npos);
}
