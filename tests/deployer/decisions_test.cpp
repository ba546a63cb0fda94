// What the deployer decides before deploying: coalescing queued webhook pushes into the newest,
// skipping stale pushes (an ancestor of, or the same as, the deployed commit), always deploying an
// operator's replay, and skipping a step whose only_if_changed paths did not change.
#include <catch2/catch.hpp>

#include "tests/deployer/harness.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;

namespace {

void record_runs(Harness& h) {
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({sh_step("record", "echo \"$DEPLOY_SHA\" >> \"$OUT/runs\"")});
}

}  // namespace

TEST_CASE("five queued pushes are coalesced into one deploy of the newest", "[deployer]") {
  Harness h;
  std::vector<std::string> shas;
  for (int i = 1; i <= 5; ++i) {
    shas.push_back(h.origin.commit({{"file.txt", std::to_string(i) + "\n"}},
                                   std::string("c").append(std::to_string(i))));
  }
  h.clone();
  record_runs(h);
  std::vector<std::string> entries;
  for (const auto& sha : shas) entries.push_back(h.webhook_push(sha));
  // An operator's request queued behind them is never superseded, and does not supersede.
  auto replay = h.operator_replay(shas[2]);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", replay));
  for (const auto& entry : entries) REQUIRE(h.in("done", entry));

  CHECK(h.out_lines("runs") == Lines{shas[4], shas[2]});
  for (int i = 0; i < 4; ++i) CHECK(h.state_of(entries[i]) == "superseded");
  CHECK(h.state_of(entries[4]) == "succeeded");
  CHECK(h.state_of(replay) == "succeeded");
  CHECK(test::checked_out(h.app()) == shas[2]);
  const std::string log = test::read_file(h.dir("logs") / (entries[0] + ".log"));
  CHECK(log.find("superseded by the newer push " + entries[4]) != std::string::npos);
}

TEST_CASE("a backlog of pushes is superseded in one batch around an operator's replay",
          "[deployer]") {
  Harness h;
  auto old = h.origin.commit({{"file.txt", "old\n"}}, "old");
  auto newest = h.origin.commit({{"file.txt", "new\n"}}, "new");
  h.clone();
  record_runs(h);
  std::vector<std::string> before, after;
  for (int i = 0; i < 60; ++i) before.push_back(h.webhook_push(old));
  auto replay = h.operator_replay(old);
  for (int i = 0; i < 60; ++i) after.push_back(h.webhook_push(old));
  auto last = h.webhook_push(newest);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", last));

  // One batch: every webhook push but the newest, on both sides of the replay, in one log line.
  CHECK(h.deployer_log().find("pushes superseded deployment=app count=120 first=" + before[0] +
                              " by=" + last) != std::string::npos);
  for (const auto* list : {&before, &after}) {
    for (const auto& entry : *list) {
      INFO(entry);
      CHECK(h.state_of(entry) == "superseded");
      CHECK(h.in("done", entry));
      CHECK(test::read_file(h.dir("logs") / (entry + ".log"))
                .find("superseded by the newer push " + last) != std::string::npos);
    }
  }
  // The replay is deployed in its turn, then the newest push; nothing else ran.
  CHECK(h.out_lines("runs") == Lines{old, newest});
  CHECK(h.state_of(replay) == "succeeded");
  CHECK(h.state_of(last) == "succeeded");
  // Each superseded entry has its finished run row, as the one-by-one path writes.
  const auto history = h.ledger().history("app", 200);
  std::size_t superseded_runs = 0;
  for (const auto& run : history.recent) {
    if (run.outcome == ledger::RunOutcome::superseded) ++superseded_runs;
  }
  CHECK(superseded_runs == 120);
  CHECK(std::filesystem::is_empty(h.dir("queue")));
  CHECK(std::filesystem::is_empty(h.dir("active")));
}

TEST_CASE("an entry left in active/ after it was recorded superseded is not deployed",
          "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  record_runs(h);
  // What a crash between the ledger statement and the move to done/ leaves (coalesce.hpp).
  auto entry = h.webhook_push(a);
  REQUIRE(h.ledger().supersede("app", {entry}, "superseded by the newer push x") ==
          std::vector<std::string>{entry});
  std::filesystem::rename(h.dir("queue") / entry, h.dir("active") / entry);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  CHECK(h.wait_log("finishing the move of an entry left in active/ after its decision"));
  CHECK(h.out_lines("runs").empty());
  CHECK(h.state_of(entry) == "superseded");
}

TEST_CASE("with coalesce off every queued push is deployed in order", "[deployer]") {
  Harness h;
  std::vector<std::string> shas;
  for (int i = 1; i <= 3; ++i) {
    shas.push_back(h.origin.commit({{"file.txt", std::to_string(i) + "\n"}}));
  }
  h.clone();
  record_runs(h);
  h.deployment_extra["coalesce"] = false;
  std::vector<std::string> entries;
  for (const auto& sha : shas) entries.push_back(h.webhook_push(sha));
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entries[2]));
  CHECK(h.out_lines("runs") == shas);
}

TEST_CASE("a push of the deployed commit or of an ancestor is stale and not deployed",
          "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  auto b = h.origin.commit({{"file.txt", "b\n"}});
  h.clone();
  record_runs(h);
  auto deployed = h.webhook_push(b);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", deployed));

  // GitHub delivered an older push late, and the same commit once more.
  auto older = h.webhook_push(a);
  REQUIRE(h.wait_in("done", older));
  auto same = h.webhook_push(b);
  REQUIRE(h.wait_in("done", same));

  CHECK(h.out_lines("runs") == Lines{b});
  CHECK(h.state_of(older) == "stale");
  CHECK(h.state_of(same) == "stale");
  CHECK(test::checked_out(h.app()) == b);
  CHECK(h.ledger().last_deployed_sha("app") == b);
}

TEST_CASE("an operator replay of an older commit is deployed (a rollback)", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  auto b = h.origin.commit({{"file.txt", "b\n"}});
  h.clone();
  record_runs(h);
  auto pushed = h.webhook_push(b);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", pushed));
  auto rollback = h.operator_replay(a);
  REQUIRE(h.wait_in("done", rollback));

  CHECK(h.out_lines("runs") == Lines{b, a});
  CHECK(test::checked_out(h.app()) == a);
  auto item = h.ledger().queue_item("app", rollback);
  REQUIRE(item);
  CHECK(item->trigger == ledger::Trigger::operator_);
  CHECK(item->state == ledger::QueueState::succeeded);
  CHECK(h.ledger().last_deployed_sha("app") == a);
  CHECK(h.ledger().deployed_state("app").high_water_sha == b);

  // The rolled-back-from commit counts as deployed: a resent push of it changes nothing.
  auto resent = h.webhook_push(b);
  REQUIRE(h.wait_in("done", resent));
  CHECK(h.state_of(resent) == "stale");
  CHECK(test::checked_out(h.app()) == a);
  // A strict descendant of it deploys, and the mark is gone.
  auto c = h.origin.commit({{"file.txt", "c\n"}});
  auto forward = h.webhook_push(c);
  REQUIRE(h.wait_in("done", forward));
  CHECK(h.out_lines("runs") == Lines{b, a, c});
  CHECK_FALSE(h.ledger().deployed_state("app").high_water_sha);
}

TEST_CASE("a step whose only_if_changed paths did not change is skipped", "[deployer]") {
  Harness h;
  auto a = h.origin.commit(
      {{"pnpm-lock.yaml", "1\n"}, {"server/package.json", "{}\n"}, {"README.md", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({
      sh_step("install", "echo install >> \"$OUT/runs\"",
              {{"only_if_changed", {"pnpm-lock.yaml", "**/package.json"}}}),
      sh_step("build", "echo build >> \"$OUT/runs\""),
  });
  auto first = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", first));
  CHECK(h.out_lines("runs") == Lines{"install", "build"});  // first deploy: everything changed

  auto b = h.origin.commit({{"README.md", "b\n"}});
  auto docs_only = h.webhook_push(b);
  REQUIRE(h.wait_in("done", docs_only));
  CHECK(h.out_lines("runs") == Lines{"install", "build", "build"});
  const std::string log = test::read_file(h.dir("logs") / (docs_only + ".log"));
  CHECK(log.find("step 1/2 install skipped") != std::string::npos);
  auto history = h.ledger().history("app", 1);
  REQUIRE(history.recent.size() == 1);
  auto steps = h.ledger().steps(history.recent[0].id);
  REQUIRE(steps.size() == 2);
  CHECK(steps[0].outcome == ledger::StepOutcome::skipped);
  CHECK(steps[1].outcome == ledger::StepOutcome::succeeded);

  auto c = h.origin.commit({{"server/package.json", "{\"name\":\"server\"}\n"}});
  auto dependency = h.webhook_push(c);
  REQUIRE(h.wait_in("done", dependency));
  CHECK(h.out_lines("runs") == Lines{"install", "build", "build", "install", "build"});
}
