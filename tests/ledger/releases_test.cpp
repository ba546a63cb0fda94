// Release mode's rows (migration 0003): releases and their outcomes, switches, rollbacks, and the
// deployed state the replay rule reads (the high water mark of an operator's rollback, cleared by
// a newer successful run).
#include <pqxx/pqxx>

#include "tests/ledger/helpers.hpp"

using ledger::ReleaseOutcome;
using ledger::RollbackKind;
using ledger::RunOutcome;

namespace {

std::string sha(char c) {
  return std::string(40, c);
}
const std::string main_ref = "refs/heads/main";

int count_rows(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::read_transaction tx{conn};
  return tx.exec1(sql)[0].as<int>();
}

// A finished run of `entry` at `commit`.
ledger::RunId run(ledger::Ledger& ledger, const std::string& entry, const std::string& commit,
                  RunOutcome outcome) {
  ledger.claim("site", entry, commit, main_ref);
  const auto id = ledger.start_run("site", entry, commit, main_ref, std::nullopt, std::nullopt);
  ledger.finish_run(id, outcome);
  return id;
}

}  // namespace

TEST_CASE("releases are recorded and updated and listed newest first and removed") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  const auto id = run(ledger, "1.json", sha('a'), RunOutcome::succeeded);
  ledger.record_release("site", "20261206T010000.000Z-aaaaaaaaaaaa", sha('a'), id,
                        ReleaseOutcome::building);
  ledger.record_release("site", "20261206T010000.000Z-aaaaaaaaaaaa", sha('a'), std::nullopt,
                        ReleaseOutcome::deployed);
  ledger.record_release("site", "20261206T020000.000Z-bbbbbbbbbbbb", sha('b'), std::nullopt,
                        ReleaseOutcome::rolled_back, "health check: status 500");
  ledger.release_removed("site", "20261206T020000.000Z-bbbbbbbbbbbb");
  ledger.record_release("other", "20261206T030000.000Z-cccccccccccc", sha('c'), std::nullopt,
                        ReleaseOutcome::ready);
  const auto rows = ledger.releases("site");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].name == "20261206T020000.000Z-bbbbbbbbbbbb");
  CHECK(rows[0].outcome == ReleaseOutcome::rolled_back);
  CHECK(rows[0].reason == "health check: status 500");
  CHECK(rows[0].removed_at.has_value());
  CHECK(rows[1].outcome == ReleaseOutcome::deployed);
  CHECK(rows[1].run == id);  // kept when a later update gives no run
  CHECK_FALSE(rows[1].removed_at);
  CHECK(ledger::to_string(ReleaseOutcome::rolled_back) == "rolled_back");
  CHECK(ledger::parse_release_outcome("ready") == ReleaseOutcome::ready);
}

TEST_CASE("switches and rollbacks are recorded and deployed_state carries an operator mark") {
  ledger_test::MigratedDatabase db;
  ledger::Ledger ledger{db.url()};
  CHECK_FALSE(ledger.deployed_state("site").sha);
  run(ledger, "1.json", sha('a'), RunOutcome::succeeded);
  const auto b = run(ledger, "2.json", sha('b'), RunOutcome::succeeded);
  ledger.record_switch("site", b, std::nullopt, "r1", ledger::SwitchReason::deploy);
  CHECK(ledger.deployed_state("site").sha == sha('b'));
  CHECK_FALSE(ledger.deployed_state("site").high_water_sha);

  // An automatic rollback of a failed run leaves no mark: that run did not succeed.
  const auto failed = run(ledger, "3.json", sha('c'), RunOutcome::failed);
  ledger::RollbackRecord automatic;
  automatic.deployment = "site";
  automatic.run = failed;
  automatic.kind = RollbackKind::automatic;
  automatic.from_sha = sha('c');
  automatic.to_sha = sha('b');
  ledger.record_rollback(automatic);
  CHECK(ledger.deployed_state("site").sha == sha('b'));
  CHECK_FALSE(ledger.deployed_state("site").high_water_sha);

  // An operator's rollback to a: b stays the high water mark.
  const auto back = run(ledger, "4.json", sha('a'), RunOutcome::succeeded);
  ledger::RollbackRecord by_hand = automatic;
  by_hand.run = back;
  by_hand.kind = RollbackKind::operator_;
  by_hand.from_sha = sha('b');
  by_hand.to_sha = sha('a');
  by_hand.high_water_sha = sha('b');
  ledger.record_rollback(by_hand);
  const auto state = ledger.deployed_state("site");
  CHECK(state.sha == sha('a'));
  CHECK(state.high_water_sha == sha('b'));

  // A newer successful run clears it.
  run(ledger, "5.json", sha('d'), RunOutcome::succeeded);
  CHECK(ledger.deployed_state("site").sha == sha('d'));
  CHECK_FALSE(ledger.deployed_state("site").high_water_sha);
  CHECK(count_rows(db.url(), "SELECT count(*) FROM rollbacks WHERE deployment = 'site'") == 2);
  CHECK(count_rows(db.url(), "SELECT count(*) FROM switches WHERE reason = 'deploy'") == 1);
}
