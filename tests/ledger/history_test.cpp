// deployctl's views: a deployment's history (last success, last failure, recent runs) and a
// delivery's story (every receipt, queue item, run and step of one delivery id).
#include "tests/ledger/helpers.hpp"

using ledger::Decision;
using ledger::QueueState;
using ledger::RunOutcome;
using ledger::StepOutcome;
using ledger_test::receipt;
using namespace std::chrono_literals;

namespace {
std::string sha(char c) {
  return std::string(40, c);
}
const std::string main_ref = "refs/heads/main";
}  // namespace

TEST_CASE("history gives the last success and failure and the newest runs first") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  CHECK(ledger.history("site").recent.empty());
  CHECK_FALSE(ledger.history("site").last_success);

  auto run = [&](const std::string& deployment, const std::string& entry, char c,
                 RunOutcome outcome, const std::string& error = "") {
    ledger.claim(deployment, entry, sha(c), main_ref);
    const auto id = ledger.start_run(deployment, entry, sha(c), main_ref, {}, {});
    ledger.finish_run(id, outcome, error);
    return id;
  };
  const auto ok1 = run("site", "1.json", '1', RunOutcome::succeeded);
  const auto bad = run("site", "2.json", '2', RunOutcome::failed, "build failed");
  const auto ok2 = run("site", "3.json", '3', RunOutcome::succeeded);
  ledger.record_routing({"site"}, "4.json", ledger::DeliveryKey{"h", "d"}, sha('4'), main_ref);
  ledger.mark("site", "4.json", QueueState::stale, "older than " + sha('3'));
  run("other", "5.json", '5', RunOutcome::failed, "other failure");

  const auto history = ledger.history("site");
  CHECK(history.deployment == "site");
  REQUIRE(history.last_success);
  CHECK(history.last_success->id == ok2);
  CHECK(history.last_success->sha == sha('3'));
  REQUIRE(history.last_failure);
  CHECK(history.last_failure->id == bad);
  CHECK(history.last_failure->error == "build failed");
  REQUIRE(history.recent.size() == 4);
  CHECK(history.recent[0].outcome == RunOutcome::stale);
  CHECK(history.recent[1].id == ok2);
  CHECK(history.recent[3].id == ok1);

  const auto limited = ledger.history("site", 2);
  REQUIRE(limited.recent.size() == 2);
  CHECK(limited.recent[1].id == ok2);
}

TEST_CASE("delivery_story tells everything about one delivery id") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  const ledger::DeliveryKey key{"hook", "delivery-1"};

  // First arrival: routed to two deployments; prod deploys, staging fails.
  ledger.record_delivery(receipt("hook", "delivery-1", "0001-delivery-1.json", Decision::routed));
  ledger.record_routing({"prod"}, "0001-delivery-1.json", key, sha('a'), main_ref);
  ledger.record_routing({"staging"}, "0001-delivery-1.json", key, sha('a'), "refs/heads/staging");
  ledger.claim("prod", "0001-delivery-1.json", sha('a'), main_ref);
  const auto prod = ledger.start_run("prod", "0001-delivery-1.json", sha('a'), main_ref, {}, key);
  ledger.record_step(prod, 0, "install", StepOutcome::succeeded, 0, 10ms);
  ledger.record_step(prod, 1, "restart", StepOutcome::succeeded, 0, 20ms);
  ledger.finish_run(prod, RunOutcome::succeeded);
  ledger.claim("staging", "0001-delivery-1.json", sha('a'), "refs/heads/staging");
  const auto staging =
      ledger.start_run("staging", "0001-delivery-1.json", sha('a'), "refs/heads/staging", {}, key);
  ledger.record_step(staging, 0, "install", StepOutcome::failed, 1, 10ms);
  ledger.finish_run(staging, RunOutcome::failed, "install exited with 1");

  // The redelivery: routed to staging only.
  ledger.record_delivery(receipt("hook", "delivery-1", "0002-delivery-1.json", Decision::routed,
                                 "redelivery of a failed deploy"));
  ledger.record_routing({"staging"}, "0002-delivery-1.json", key, sha('a'), "refs/heads/staging");

  // Noise that must not appear.
  ledger.record_delivery(receipt("hook", "delivery-2", "0003-delivery-2.json", Decision::ping));

  const auto story = ledger.delivery_story("delivery-1");
  CHECK(story.delivery_id == "delivery-1");
  REQUIRE(story.receipts.size() == 2);
  CHECK(story.receipts[1].reason == "redelivery of a failed deploy");
  REQUIRE(story.items.size() == 3);
  CHECK(story.items[0].entry_name == "0001-delivery-1.json");
  CHECK(story.items[2].entry_name == "0002-delivery-1.json");
  CHECK(story.items[2].state == QueueState::queued);
  REQUIRE(story.runs.size() == 2);
  CHECK(story.runs[0].id == prod);
  REQUIRE(story.runs[0].steps.size() == 2);
  CHECK(story.runs[0].steps[1].name == "restart");
  CHECK(story.runs[1].outcome == RunOutcome::failed);
  REQUIRE(story.runs[1].steps.size() == 1);
  CHECK(story.runs[1].steps[0].exit_code == 1);

  CHECK(ledger.delivery_story("unknown").receipts.empty());
}
