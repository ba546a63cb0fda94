// The database going away: calls fail with ledger::Unavailable (not Error) while the server is
// down, the Ledger reconnects by itself once it is back, and the log has one line per state
// change, not one per failed call. Each test runs its own private cluster (test::Cluster), so
// stopping it disturbs no other test.
#include "tests/ledger/helpers.hpp"

using ledger::RunOutcome;
using ledger::StepOutcome;
using ledger_test::capture_stderr;
using ledger_test::count_lines;
using namespace std::chrono_literals;

namespace {
const std::string sha_a(40, 'a');
const std::string main_ref = "refs/heads/main";
}  // namespace

TEST_CASE("a server stopped mid-run gives Unavailable and the next call after restart works") {
  test::Cluster cluster;
  ledger::migrate(cluster.url());
  ledger::Ledger ledger{cluster.url()};
  ledger.claim("site", "e.json", sha_a, main_ref);
  const auto run = ledger.start_run("site", "e.json", sha_a, main_ref, {}, {});
  ledger.record_step(run, 0, "install", StepOutcome::succeeded, 0, 5ms);

  const std::string log = capture_stderr([&] {
    cluster.stop();
    // The deployer's retry loop: every attempt fails the same typed way while the server is down.
    for (int attempt = 0; attempt < 3; ++attempt) {
      CHECK_THROWS_AS(ledger.record_step(run, 1, "build", StepOutcome::succeeded, 0, 5ms),
                      ledger::Unavailable);
      CHECK_FALSE(ledger.connected());
    }
    CHECK_THROWS_AS(ledger.last_deployed_sha("site"), ledger::Unavailable);
    cluster.start();
    ledger.record_step(run, 1, "build", StepOutcome::succeeded, 0, 5ms);
    ledger.finish_run(run, RunOutcome::succeeded);
  });

  CHECK(ledger.last_deployed_sha("site") == sha_a);
  CHECK(ledger.steps(run).size() == 2);
  INFO(log);
  CHECK(count_lines(log, "ledger connection lost") == 1);
  CHECK(count_lines(log, "ledger connection restored") == 1);
  CHECK(count_lines(log, "ledger unavailable") == 0);
  CHECK(count_lines(log, "ledger") == 2);
}

TEST_CASE("a server restarted while the ledger was idle is invisible to the next call") {
  test::Cluster cluster;
  ledger::migrate(cluster.url());
  ledger::Ledger ledger{cluster.url()};
  ledger.record_routing({"site"}, "e.json", std::nullopt, sha_a, main_ref);

  const std::string log = capture_stderr([&] {
    cluster.stop();
    cluster.start();
    // The old connection is dead; nothing of this call reached the server on it, so the ledger
    // retries it once on a fresh connection.
    CHECK(ledger.claim("site", "e.json", sha_a, main_ref) == ledger::Trigger::webhook);
  });
  INFO(log);
  CHECK(count_lines(log, "ledger connection lost") == 1);
  CHECK(count_lines(log, "ledger connection restored") == 1);
}

TEST_CASE("a database that was never reachable gives Unavailable every time and one log line") {
  // A socket folder that does not exist: the connection fails at once, no cluster needed.
  const std::string url = "host=/nonexistent-ledger-test port=5 dbname=deployer user=postgres";
  ledger::Ledger ledger{url};
  const std::string log = capture_stderr([&] {
    for (int attempt = 0; attempt < 3; ++attempt) {
      CHECK_THROWS_AS(ledger.claim("site", "e.json", sha_a, main_ref), ledger::Unavailable);
    }
    CHECK_THROWS_WITH(ledger.history("site"), Catch::StartsWith("ledger unavailable (history)"));
  });
  INFO(log);
  CHECK(count_lines(log, "ledger unavailable") == 1);
  CHECK(count_lines(log, "\n") == 0);  // the one line carries libpq's message on one line
  CHECK_THROWS_AS(ledger::migrate(url), ledger::Unavailable);
  CHECK_THROWS_AS(ledger::require_schema(url), ledger::Unavailable);
}
