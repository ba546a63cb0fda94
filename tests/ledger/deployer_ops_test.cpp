// The deployer's operations: claim's triggers, runs and steps, finish_run and the queue state,
// mark for skipped entries, and the last deployed sha.
#include <algorithm>
#include <latch>
#include <pqxx/pqxx>
#include <thread>

#include "tests/ledger/helpers.hpp"

using ledger::QueueState;
using ledger::RunOutcome;
using ledger::StepOutcome;
using ledger::Trigger;
using namespace std::chrono_literals;

namespace {

int count_rows(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::read_transaction tx{conn};
  return tx.exec1(sql)[0].as<int>();
}

std::string sha(char c) {
  return std::string(40, c);
}
const std::string main_ref = "refs/heads/main";
const ledger::DeliveryKey key{"h", "d"};

}  // namespace

TEST_CASE("claim: routed is webhook absent or final is operator running keeps its trigger") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};

  SECTION("an entry the router queued is a webhook deploy") {
    ledger.record_routing({"site"}, "e.json", key, sha('a'), main_ref);
    CHECK(ledger.claim("site", "e.json", sha('a'), main_ref) == Trigger::webhook);
    const auto item = ledger.queue_item("site", "e.json");
    CHECK(item->state == QueueState::running);
    CHECK(item->trigger == Trigger::webhook);
    // The deployer died and runs the entry again from active/: still a webhook deploy.
    CHECK(ledger.claim("site", "e.json", sha('a'), main_ref) == Trigger::webhook);
  }
  SECTION("a file an operator dropped into the queue is an operator deploy") {
    CHECK(ledger.claim("site", "replay.json", sha('b'), main_ref) == Trigger::operator_);
    auto item = ledger.queue_item("site", "replay.json");
    REQUIRE(item);
    CHECK(item->state == QueueState::running);
    CHECK(item->sha == sha('b'));
    CHECK_FALSE(item->delivery);
    CHECK(ledger.claim("site", "replay.json", sha('b'), main_ref) == Trigger::operator_);
    // A replay that carries its delivery records it.
    CHECK(ledger.claim("site", "copy.json", sha('b'), main_ref, key) == Trigger::operator_);
    CHECK(ledger.queue_item("site", "copy.json")->delivery == key);
  }
  SECTION("an entry moved back from failed/ is an operator retry") {
    ledger.record_routing({"site"}, "e.json", key, sha('a'), main_ref);
    ledger.claim("site", "e.json", sha('a'), main_ref);
    ledger.finish_run(ledger.start_run("site", "e.json", sha('a'), main_ref, {}, key),
                      RunOutcome::failed, "build failed");
    CHECK(ledger.claim("site", "e.json", sha('a'), main_ref) == Trigger::operator_);
    const auto item = ledger.queue_item("site", "e.json");
    CHECK(item->state == QueueState::running);
    CHECK(item->reason.empty());
    CHECK(item->delivery == key);  // the delivery stays attached
  }
  SECTION("an entry replayed after it succeeded or was skipped is an operator deploy") {
    ledger.record_routing({"site"}, "e.json", key, sha('a'), main_ref);
    ledger.mark("site", "e.json", QueueState::superseded, "newer push waiting");
    CHECK(ledger.claim("site", "e.json", sha('a'), main_ref) == Trigger::operator_);
  }
}

TEST_CASE("two deployers claiming one queued entry at once both see a webhook deploy") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger setup{db.url()};
  setup.record_routing({"site"}, "e.json", key, sha('a'), main_ref);
  std::latch go{2};
  Trigger triggers[2] = {Trigger::operator_, Trigger::operator_};
  auto claim = [&](int i) {
    ledger::Ledger ledger{db.url()};
    go.arrive_and_wait();
    triggers[i] = ledger.claim("site", "e.json", sha('a'), main_ref);
  };
  std::thread a(claim, 0), b(claim, 1);
  a.join();
  b.join();
  CHECK(triggers[0] == Trigger::webhook);
  CHECK(triggers[1] == Trigger::webhook);
  CHECK(count_rows(db.url(), "SELECT count(*) FROM queue_items") == 1);
}

TEST_CASE("a run records its steps and its outcome sets the queue item's state") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  ledger.record_routing({"site"}, "e.json", key, sha('b'), main_ref);
  ledger.claim("site", "e.json", sha('b'), main_ref);

  const auto run = ledger.start_run("site", "e.json", sha('b'), main_ref, sha('a'), key);
  ledger.record_step(run, 0, "install", StepOutcome::succeeded, 0, 1500ms);
  ledger.record_step(run, 1, "build", StepOutcome::timeout, std::nullopt, 900s);
  ledger.record_step(run, 1, "build", StepOutcome::failed, 2, 12ms);  // re-recorded: replaced
  ledger.record_step(run, 2, "restart", StepOutcome::skipped, std::nullopt, 0ms);
  ledger.finish_run(run, RunOutcome::failed, "step build exited with 2");
  ledger.finish_run(run, RunOutcome::failed, "step build exited with 2");  // repeated: harmless

  const auto steps = ledger.steps(run);
  REQUIRE(steps.size() == 3);
  CHECK(steps[0].name == "install");
  CHECK(steps[0].exit_code == 0);
  CHECK(steps[0].duration == 1500ms);
  CHECK(steps[1].outcome == StepOutcome::failed);
  CHECK(steps[1].exit_code == 2);
  CHECK(steps[2].outcome == StepOutcome::skipped);
  CHECK_FALSE(steps[2].exit_code);

  const auto item = ledger.queue_item("site", "e.json");
  CHECK(item->state == QueueState::failed);
  CHECK(item->reason == "step build exited with 2");

  const auto history = ledger.history("site");
  REQUIRE(history.recent.size() == 1);
  const auto& recorded = history.recent[0];
  CHECK(recorded.id == run);
  CHECK(recorded.outcome == RunOutcome::failed);
  CHECK(recorded.trigger == Trigger::webhook);
  CHECK(recorded.previous_sha == sha('a'));
  CHECK(recorded.delivery == key);
  REQUIRE(recorded.finished_at);
  CHECK(*recorded.finished_at >= recorded.started_at);
}

TEST_CASE("an interrupted run leaves the entry running and the next attempt closes a dead one") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  ledger.claim("site", "e.json", sha('a'), main_ref);

  const auto first = ledger.start_run("site", "e.json", sha('a'), main_ref, {}, {});
  ledger.finish_run(first, RunOutcome::interrupted, "SIGTERM");
  CHECK(ledger.queue_item("site", "e.json")->state == QueueState::running);

  // The second attempt's deployer is killed -9: its run never finishes...
  const auto second = ledger.start_run("site", "e.json", sha('a'), main_ref, {}, {});
  // ...and the third attempt closes it.
  const auto third = ledger.start_run("site", "e.json", sha('a'), main_ref, {}, {});
  ledger.finish_run(third, RunOutcome::succeeded);

  const auto runs = ledger.history("site").recent;
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].id == third);
  CHECK(runs[0].outcome == RunOutcome::succeeded);
  CHECK(runs[1].id == second);
  CHECK(runs[1].outcome == RunOutcome::interrupted);
  CHECK(runs[1].finished_at);
  CHECK(runs[2].id == first);
  CHECK(runs[2].error == "SIGTERM");
  CHECK(runs[0].trigger == Trigger::operator_);
  CHECK(ledger.queue_item("site", "e.json")->state == QueueState::succeeded);
}

TEST_CASE("mark records superseded and stale entries once with a run row for the history") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  ledger.record_routing({"site"}, "old.json", key, sha('a'), main_ref);

  ledger.mark("site", "old.json", QueueState::superseded, "newer push new.json is waiting");
  ledger.mark("site", "old.json", QueueState::superseded, "newer push new.json is waiting");
  auto item = ledger.queue_item("site", "old.json");
  CHECK(item->state == QueueState::superseded);
  CHECK(item->reason == "newer push new.json is waiting");
  auto runs = ledger.history("site").recent;
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].outcome == RunOutcome::superseded);
  CHECK(runs[0].sha == sha('a'));
  CHECK(runs[0].delivery == key);
  CHECK(runs[0].finished_at);

  // An entry the ledger has never seen (a hand-dropped replay) is recorded with the given sha.
  ledger.mark("site", "replay.json", QueueState::stale, "older than the deployed commit", sha('c'),
              main_ref);
  item = ledger.queue_item("site", "replay.json");
  REQUIRE(item);
  CHECK(item->state == QueueState::stale);
  CHECK(item->trigger == Trigger::operator_);
  CHECK(item->sha == sha('c'));
  CHECK(ledger.history("site").recent.size() == 2);

  CHECK_THROWS_AS(ledger.mark("site", "x.json", QueueState::succeeded, "no"), ledger::Error);
  CHECK_THROWS_AS(ledger.mark("site", "x.json", QueueState::queued, "no"), ledger::Error);
}

TEST_CASE("mark closes a run a killed deployer left open as interrupted") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  ledger.record_routing({"site"}, "e.json", key, sha('a'), main_ref);
  ledger.claim("site", "e.json", sha('a'), main_ref, key);
  // The deployer is killed -9 during this run; when the entry is taken again a newer push is
  // waiting, so it is superseded instead of run again.
  const auto killed = ledger.start_run("site", "e.json", sha('a'), main_ref, {}, key);
  ledger.mark("site", "e.json", QueueState::superseded, "newer push new.json is waiting");

  const auto runs = ledger.history("site").recent;
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].outcome == RunOutcome::superseded);
  CHECK(runs[1].id == killed);
  CHECK(runs[1].outcome == RunOutcome::interrupted);
  CHECK(runs[1].finished_at);
}

TEST_CASE("last_deployed_sha is the newest successful run of that deployment") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  CHECK_FALSE(ledger.last_deployed_sha("site"));

  auto deploy = [&](const std::string& deployment, const std::string& entry, char c,
                    RunOutcome outcome) {
    ledger.claim(deployment, entry, sha(c), main_ref);
    ledger.finish_run(ledger.start_run(deployment, entry, sha(c), main_ref, {}, {}), outcome);
  };
  deploy("site", "1.json", '1', RunOutcome::succeeded);
  CHECK(ledger.last_deployed_sha("site") == sha('1'));
  deploy("site", "2.json", '2', RunOutcome::failed);
  deploy("site", "3.json", '3', RunOutcome::interrupted);
  CHECK(ledger.last_deployed_sha("site") == sha('1'));
  deploy("other", "4.json", '4', RunOutcome::succeeded);
  CHECK(ledger.last_deployed_sha("site") == sha('1'));
  // A rollback: an operator replays the older commit; it becomes the deployed one.
  deploy("site", "5.json", '0', RunOutcome::succeeded);
  CHECK(ledger.last_deployed_sha("site") == sha('0'));
  CHECK(ledger.last_deployed_sha("other") == sha('4'));
}

TEST_CASE("misuse is ledger::Error not Unavailable and the connection stays usable") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  CHECK_THROWS_AS(ledger.finish_run(424242, RunOutcome::succeeded), ledger::Error);
  CHECK_THROWS_WITH(ledger.record_step(424242, 0, "x", StepOutcome::succeeded, 0, 1ms),
                    Catch::Contains("run 424242 does not exist"));
  CHECK_THROWS_WITH(ledger.record_step(424242, -1, "x", StepOutcome::succeeded, 0, 1ms),
                    Catch::Contains("record_step"));
  CHECK(ledger.connected());
  CHECK_NOTHROW(ledger.claim("site", "e.json", sha('a'), main_ref));
}

TEST_CASE("supersede marks only queued webhook pushes, in one statement with their run rows") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  ledger.record_routing({"site"}, "1.json", ledger::DeliveryKey{"h", "d1"}, sha('a'), main_ref);
  ledger.record_routing({"site"}, "2.json", ledger::DeliveryKey{"h", "d2"}, sha('b'), main_ref);
  ledger.record_routing({"site"}, "3.json", ledger::DeliveryKey{"h", "d3"}, sha('c'), main_ref);
  ledger.claim("site", "3.json", sha('c'), main_ref);                   // running: left alone
  ledger.claim("site", "op.json", sha('d'), main_ref);                  // an operator's: left alone
  ledger.record_routing({"other"}, "1.json", key, sha('a'), main_ref);  // another deployment

  // Names with the characters an array literal must escape reach the query intact.
  const std::vector<std::string> asked{"1.json", "2.json", "3.json", "op.json", "x\"y\\z,{}"};
  const auto items = ledger.queue_items("site", asked);
  CHECK(items.size() == 4);
  CHECK(items.at("2.json").state == QueueState::queued);
  CHECK(items.at("3.json").state == QueueState::running);

  auto marked = ledger.supersede("site", asked, "superseded by the newer push 9.json");
  std::sort(marked.begin(), marked.end());
  CHECK(marked == std::vector<std::string>{"1.json", "2.json"});
  const auto one = ledger.queue_item("site", "1.json");
  CHECK(one->state == QueueState::superseded);
  CHECK(one->reason == "superseded by the newer push 9.json");
  CHECK(ledger.queue_item("site", "3.json")->state == QueueState::running);
  CHECK(ledger.queue_item("site", "op.json")->state == QueueState::running);
  CHECK(ledger.queue_item("other", "1.json")->state == QueueState::queued);
  CHECK(count_rows(db.url(),
                   "SELECT count(*) FROM runs WHERE outcome = 'superseded' AND deployment = 'site'"
                   " AND delivery_id IN ('d1', 'd2') AND error LIKE 'superseded by%'") == 2);
  // Repeated (a re-run after a crash): nothing is queued any more, nothing changes.
  CHECK(ledger.supersede("site", asked, "again").empty());
  CHECK(count_rows(db.url(), "SELECT count(*) FROM runs WHERE outcome = 'superseded'") == 2);
}

TEST_CASE("a value PostgreSQL refuses is a DataError, about that one call") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  // A byte that is not UTF-8 (SQLSTATE 22021): the deployer fails the entry, not itself.
  const std::string bad_ref = "refs/heads/\xff";
  CHECK_THROWS_AS(ledger.claim("site", "bad.json", sha('a'), bad_ref), ledger::DataError);
  try {
    ledger.claim("site", "bad.json", sha('a'), bad_ref);
  } catch (const ledger::DataError& e) {
    CHECK_THAT(e.what(), Catch::Contains("ledger: claim refused a value"));
  }
  // The connection is still good for the next entry.
  CHECK(ledger.claim("site", "good.json", sha('a'), main_ref) == Trigger::operator_);
}
