// The router's operations: delivery records, routed queue items, and delivery_states, the
// redelivery rule of docs/router.md (queued/running/succeeded -> duplicate; failed -> route
// again).
#include <algorithm>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "tests/ledger/helpers.hpp"

using ledger::Decision;
using ledger::QueueState;
using ledger::RunOutcome;
using ledger_test::receipt;

namespace {

int count_rows(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::read_transaction tx{conn};
  return tx.exec1(sql)[0].as<int>();
}

const std::string sha_a(40, 'a');
const std::string main_ref = "refs/heads/main";

}  // namespace

TEST_CASE("record_delivery upserts one row per entry and keeps redeliveries apart") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};

  auto first = receipt("h1", "d1", "e1.json", Decision::routed);
  first.received_at = ledger::Time{std::chrono::microseconds{1'795'000'000'123'456}};
  ledger.record_delivery(first);
  // The router re-running the same entry after a crash: the decision is replaced.
  ledger.record_delivery(receipt("h1", "d1", "e1.json", Decision::duplicate, "already queued"));
  // GitHub's redelivery: a new inbox entry, a new row.
  ledger.record_delivery(receipt("h1", "d1", "e2.json", Decision::duplicate, "already deployed"));
  // Same delivery id, other hook; and a delivery without a hook id.
  ledger.record_delivery(receipt("h2", "d1", "e3.json", Decision::ignored, "no deployment"));
  ledger.record_delivery(receipt("", "d1", "e4.json", Decision::ping));

  const auto story = ledger.delivery_story("d1");
  REQUIRE(story.receipts.size() == 4);
  CHECK(count_rows(db.url(), "SELECT count(*) FROM deliveries") == 4);
  const auto& e1 = story.receipts[0];
  CHECK(e1.entry_name == "e1.json");
  CHECK(e1.decision == Decision::duplicate);
  CHECK(e1.reason == "already queued");
  REQUIRE(e1.received_at);  // kept from the first record, to the microsecond
  CHECK(*e1.received_at == *first.received_at);
  CHECK(story.receipts[3].key == ledger::DeliveryKey{"", "d1"});
  CHECK(story.receipts[3].decision == Decision::ping);
}

TEST_CASE("record_routing inserts a queued webhook item once and never moves it back") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  const ledger::DeliveryKey key{"h", "d"};

  CHECK(ledger.record_routing({"site"}, "e.json", key, sha_a, main_ref) ==
        std::vector<std::string>{"site"});
  CHECK(ledger.record_routing({"site"}, "e.json", key, sha_a, main_ref).empty());
  auto item = ledger.queue_item("site", "e.json");
  REQUIRE(item);
  CHECK(item->state == QueueState::queued);
  CHECK(item->trigger == ledger::Trigger::webhook);
  CHECK(item->delivery == key);
  CHECK(item->sha == sha_a);
  CHECK(item->ref == main_ref);

  ledger.claim("site", "e.json", sha_a, main_ref);
  CHECK(ledger.record_routing({"site"}, "e.json", key, sha_a, main_ref).empty());
  CHECK(ledger.queue_item("site", "e.json")->state == QueueState::running);
  CHECK_FALSE(ledger.queue_item("site", "other.json"));
}

TEST_CASE("record_deliveries upserts a batch in one statement, the last record of an entry wins") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  auto first = receipt("h", "d1", "e1.json", Decision::routed, "to prod");
  first.received_at = ledger::Time{std::chrono::microseconds{1'795'000'000'123'456}};
  auto odd = receipt("h", "d2", "e2.json", Decision::ignored, "quote \" backslash \\ comma, {}");
  std::vector<ledger::DeliveryRecord> batch{
      first, odd, receipt("", "d3", "e3.json", Decision::ping),
      receipt("h", "d1", "e1.json", Decision::duplicate, "the last record of e1 counts")};
  ledger.record_deliveries(batch);
  ledger.record_deliveries({});  // nothing to do, no statement

  auto story = ledger.delivery_story("d1");
  REQUIRE(story.receipts.size() == 1);
  CHECK(story.receipts[0].decision == Decision::duplicate);
  CHECK(story.receipts[0].reason == "the last record of e1 counts");
  CHECK_FALSE(story.receipts[0].received_at);  // the last record had none: NULL went in
  story = ledger.delivery_story("d2");
  REQUIRE(story.receipts.size() == 1);
  CHECK(story.receipts[0].reason == odd.reason);
  CHECK(ledger.delivery_story("d3").receipts.at(0).key == ledger::DeliveryKey{"", "d3"});
  // Again, as a re-run after a crash: the row is updated in place, received_at filled in.
  ledger.record_deliveries({first});
  story = ledger.delivery_story("d1");
  CHECK(story.receipts.at(0).decision == Decision::routed);
  CHECK(*story.receipts.at(0).received_at == *first.received_at);
  CHECK(count_rows(db.url(), "SELECT count(*) FROM deliveries") == 3);
}

TEST_CASE("record_routing inserts the items of every target in one statement, once") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  const ledger::DeliveryKey key{"h", "d"};

  auto created = ledger.record_routing({"prod", "staging"}, "e.json", key, sha_a, main_ref);
  std::sort(created.begin(), created.end());
  CHECK(created == std::vector<std::string>{"prod", "staging"});
  for (const char* deployment : {"prod", "staging"}) {
    const auto item = ledger.queue_item(deployment, "e.json");
    REQUIRE(item);
    CHECK(item->state == QueueState::queued);
    CHECK(item->trigger == ledger::Trigger::webhook);
    CHECK(item->delivery == key);
    CHECK(item->sha == sha_a);
  }
  // A re-run after a crash, the deployer having claimed prod meanwhile: nothing is created and
  // nothing moves back.
  ledger.claim("prod", "e.json", sha_a, main_ref);
  CHECK(ledger.record_routing({"prod", "staging"}, "e.json", key, sha_a, main_ref).empty());
  CHECK(ledger.queue_item("prod", "e.json")->state == QueueState::running);
  // Without a delivery id (a hand-written entry).
  CHECK(ledger.record_routing({"prod"}, "x.json", std::nullopt, sha_a, main_ref) ==
        std::vector<std::string>{"prod"});
  CHECK_FALSE(ledger.queue_item("prod", "x.json")->delivery);
}

TEST_CASE(
    "delivery_states: queued or running or succeeded block a redelivery but failed does not") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  const ledger::DeliveryKey key{"h", "d"};

  CHECK(ledger.delivery_states(key).empty());
  ledger.record_routing({"prod"}, "0001-d.json", key, sha_a, main_ref);
  ledger.record_routing({"staging"}, "0001-d.json", key, sha_a, main_ref);

  auto states = ledger.delivery_states("h", "d");
  CHECK(states == std::map<std::string, QueueState>{{"prod", QueueState::queued},
                                                    {"staging", QueueState::queued}});
  CHECK(ledger::blocks_redelivery(QueueState::queued));

  ledger.claim("prod", "0001-d.json", sha_a, main_ref);
  CHECK(ledger.delivery_states(key).at("prod") == QueueState::running);
  CHECK(ledger::blocks_redelivery(QueueState::running));

  const auto prod_run = ledger.start_run("prod", "0001-d.json", sha_a, main_ref, {}, key);
  ledger.finish_run(prod_run, RunOutcome::succeeded);
  ledger.claim("staging", "0001-d.json", sha_a, main_ref);
  const auto staging_run = ledger.start_run("staging", "0001-d.json", sha_a, main_ref, {}, key);
  ledger.finish_run(staging_run, RunOutcome::failed, "step build failed");

  states = ledger.delivery_states(key);
  CHECK(states.at("prod") == QueueState::succeeded);
  CHECK(states.at("staging") == QueueState::failed);
  CHECK(ledger::blocks_redelivery(QueueState::succeeded));
  CHECK_FALSE(ledger::blocks_redelivery(QueueState::failed));

  // The redelivery is routed to staging again: its newer item is the one that counts.
  ledger.record_routing({"staging"}, "0002-d.json", key, sha_a, main_ref);
  CHECK(ledger.delivery_states(key).at("staging") == QueueState::queued);
  // ...except for the router deciding that very entry again after a crash.
  CHECK(ledger.delivery_states(key, "0002-d.json").at("staging") == QueueState::failed);

  // Other hooks' deliveries with the same id are separate.
  CHECK(ledger.delivery_states("other-hook", "d").empty());
}

TEST_CASE("superseded and stale items also block a redelivery") {
  CHECK(ledger::blocks_redelivery(QueueState::superseded));
  CHECK(ledger::blocks_redelivery(QueueState::stale));
  CHECK(ledger::is_final(QueueState::failed));
  CHECK_FALSE(ledger::is_final(QueueState::running));
}

TEST_CASE("concurrent routers writing the same and different rows never fail or duplicate") {
  ledger_test::MigratedDatabase db;
  constexpr int threads = 4;
  constexpr int rounds = 15;
  std::vector<std::string> errors(threads);
  std::vector<int> inserted(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        ledger::Ledger ledger{db.url()};
        for (int i = 0; i < rounds; ++i) {
          const std::string shared = "shared-" + std::to_string(i) + ".json";
          const std::string own = "own-" + std::to_string(t) + "-" + std::to_string(i) + ".json";
          ledger.record_delivery(
              receipt("h", std::string("d").append(std::to_string(i)), shared, Decision::routed));
          if (!ledger
                   .record_routing({"site"}, shared, ledger::DeliveryKey{"h", "d"}, sha_a, main_ref)
                   .empty())
            ++inserted[t];
          ledger.record_routing({"site"}, own, std::nullopt, sha_a, main_ref);
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (const auto& error : errors) CHECK(error.empty());
  int total_inserted = 0;
  for (int n : inserted) total_inserted += n;
  CHECK(total_inserted == rounds);  // each shared item was inserted by exactly one writer
  CHECK(count_rows(db.url(), "SELECT count(*) FROM deliveries") == rounds);
  CHECK(count_rows(db.url(), "SELECT count(*) FROM queue_items") == rounds + threads * rounds);
}
