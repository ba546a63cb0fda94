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
    shas.push_back(
        h.origin.commit({{"file.txt", std::to_string(i) + "\n"}}, "c" + std::to_string(i)));
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
