// status (folders + a real ledger, and without one) and logs, against real folders.
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>

#include "common/ledger/ledger.hpp"
#include "common/ledger/migrations.hpp"
#include "queue-layout/name.hpp"
#include "tests/deployctl/helpers.hpp"
#include "tests/support/pg.hpp"

using deployctl_test::count_lines;
using deployctl_test::deployctl;
using deployctl_test::fake_sha;
using deployctl_test::push_entry;
using deployctl_test::Site;

namespace {

const std::string kDone = "00000000000000000001-d1.json";
const std::string kBroken = "00000000000000000002-d2.json";
const std::string kActive = "00000000000000000003-d3.json";
const std::string kQueued1 = "00000000000000000004-d4.json";
const std::string kQueued2 = "00000000000000000005-d5.json";

// The folders of a deployment with history: one queued pair, one active, one failed, one done.
void fill_folders(const Site& site) {
  site.put(site.layout.done("site"), kDone, push_entry(fake_sha('1'), "d1"));
  site.put(site.layout.failed("site"), kBroken, push_entry(fake_sha('2'), "d2"));
  site.put(site.layout.failed("site"), queue_layout::error_name(kBroken), "{}");
  site.put(site.layout.active("site"), kActive, push_entry(fake_sha('3'), "d3"));
  site.put(site.layout.queue("site"), kQueued1, push_entry(fake_sha('4'), "d4"));
  site.put(site.layout.queue("site"), kQueued2, push_entry(fake_sha('5'), "d5"));
  site.put(site.layout.inbox(), "00000000000000000006-d6.json", push_entry(fake_sha('6'), "d6"));
  site.put(site.layout.rejected(), "00000000000000000000-bad.json", "not json");
  site.put(site.layout.rejected(), "00000000000000000000-bad.json.reason", "not JSON");
}

// The ledger's side of the same story, as the deployer records it.
void fill_ledger(const std::string& url) {
  ledger::migrate(url);
  ledger::Ledger ledger(url);
  const std::string ref = "refs/heads/main";
  ledger.claim("site", kDone, fake_sha('1'), ref);
  const auto ok = ledger.start_run("site", kDone, fake_sha('1'), ref, std::nullopt, std::nullopt);
  ledger.finish_run(ok, ledger::RunOutcome::succeeded);
  ledger.claim("site", kBroken, fake_sha('2'), ref);
  const auto bad =
      ledger.start_run("site", kBroken, fake_sha('2'), ref, fake_sha('1'), std::nullopt);
  ledger.finish_run(bad, ledger::RunOutcome::failed, "step build exited with status 1");
  ledger.claim("site", kActive, fake_sha('3'), ref);
  ledger.start_run("site", kActive, fake_sha('3'), ref, fake_sha('1'), std::nullopt);
}

}  // namespace

TEST_CASE("status shows queues and active entries from the folders and outcomes from the ledger") {
  test::Database db;
  Site site;
  fill_folders(site);
  fill_ledger(db.url());
  const std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}};

  const auto json_run = deployctl(site.args({"status", "--json"}), env);
  INFO(json_run.err);
  REQUIRE(json_run.status == 0);
  const auto json = nlohmann::json::parse(json_run.out);
  CHECK(json["instance"] == "deployctl-test");
  CHECK(json["database"]["reachable"] == true);
  CHECK(json["database"]["note"].is_null());
  CHECK(json["inbox"]["waiting"] == 1);
  CHECK(json["rejected"]["count"] == 1);
  const auto& d = json["deployments"]["site"];
  CHECK(d["repository"] == "example/site");
  CHECK(d["enabled"] == true);
  CHECK(d["queue"]["length"] == 2);
  CHECK(d["queue"]["entries"] == nlohmann::json({kQueued1, kQueued2}));
  CHECK(d["active"]["entry"] == kActive);
  CHECK(d["active"]["sha"] == fake_sha('3'));
  CHECK(d["active"]["seconds"].get<long long>() >= 0);
  CHECK(d["active"]["since"].is_string());
  CHECK(d["last_success"]["sha"] == fake_sha('1'));
  CHECK(d["last_success"]["entry"] == kDone);
  CHECK(d["last_success"]["finished_at"].is_string());
  CHECK(d["last_failure"]["sha"] == fake_sha('2'));
  CHECK(d["last_failure"]["error"] == "step build exited with status 1");
  CHECK(d["failed"]["count"] == 1);
  CHECK(d["failed"]["entries"] == nlohmann::json({kBroken}));
  CHECK(d["done"]["count"] == 1);

  const auto text = deployctl(site.args({"status"}), env);
  REQUIRE(text.status == 0);
  CHECK(text.err.empty());
  CHECK_THAT(text.out, Catch::Contains("site (example/site@main)"));
  CHECK_THAT(text.out, Catch::Contains("queue:        2 waiting, oldest " + kQueued1));
  CHECK_THAT(text.out, Catch::Contains("active:       " + kActive + " (333333333333) for "));
  CHECK_THAT(text.out, Catch::Contains("last success: 111111111111 at "));
  CHECK_THAT(text.out, Catch::Contains("last failure: 222222222222 at "));
  CHECK_THAT(text.out, Catch::Contains("step build exited with status 1"));
  CHECK_THAT(text.out, Catch::Contains("failed:       1 waiting (deployctl retry site)"));
  CHECK_THAT(text.out, !Catch::Contains("note:"));
}

TEST_CASE("status says 'no commit' for a file that failed unread and what to do with strays") {
  test::Database db;
  Site site;
  ledger::migrate(db.url());
  ledger::Ledger ledger(db.url());
  // What the deployer records for a file in its queue that is not an entry it can read.
  const std::string unread = "00000000000000000009-unread.json";
  ledger.mark("site", unread, ledger::QueueState::failed, "not a push entry: payload is not JSON");
  site.put(site.layout.failed("site"), "odd.json", "{}");
  site.put(site.layout.failed("site"), "odd.json.reason", "not an entry name");
  const auto text = deployctl(site.args({"status"}), {{"DATABASE_URL", db.url()}});
  INFO(text.err);
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("last failure: no commit at "));
  CHECK_THAT(text.out, Catch::Contains("1 quarantined file(s) in "));
  CHECK_THAT(text.out, Catch::Contains("read each <name>.reason"));
}

TEST_CASE("status without a usable database still shows the folders with a note") {
  Site site;
  fill_folders(site);
  std::map<std::string, std::string> env;
  std::string expected;
  std::optional<test::Database> db;
  SECTION("the server cannot be reached") {
    env["DATABASE_URL"] = "host=/nonexistent-deployctl-test port=5 dbname=x user=postgres";
    expected = "";
  }
  SECTION("DATABASE_URL is not set") {
    env["DATABASE_URL"] = "";
    expected = "DATABASE_URL is not set";
  }
  SECTION("the schema is behind") {
    db.emplace();  // an empty database: never migrated
    env["DATABASE_URL"] = db->url();
    expected = "deployctl migrate";
  }
  const auto result = deployctl(site.args({"status", "--json"}), env);
  INFO(result.err);
  REQUIRE(result.status == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["database"]["reachable"] == false);
  CHECK_THAT(json["database"]["note"].get<std::string>(), Catch::Contains(expected));
  const auto& d = json["deployments"]["site"];
  CHECK(d["queue"]["length"] == 2);
  CHECK(d["active"]["entry"] == kActive);
  CHECK(d["active"]["seconds"].is_number());  // from the file: when it was moved into active/
  CHECK(d["last_success"].is_null());
  CHECK(d["failed"]["count"] == 1);

  const auto text = deployctl(site.args({"status"}), env);
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("last success: unknown (ledger not reachable)"));
  CHECK_THAT(text.out, Catch::Contains("note: the ledger is not reachable"));
}

TEST_CASE("status before anything ran says the state directory does not exist yet") {
  Site site;
  const auto result = deployctl(site.args({"status", "--json"}), {{"DATABASE_URL", ""}});
  REQUIRE(result.status == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["deployments"]["site"]["queue"]["length"] == 0);
  CHECK(json["deployments"]["site"]["active"].is_null());
  REQUIRE(json["notes"].size() == 1);
  CHECK_THAT(json["notes"][0].get<std::string>(), Catch::Contains("does not exist yet"));
}

TEST_CASE("logs prints the newest run log by default and a named one on request") {
  Site site;
  const auto logs = site.layout.logs("site");
  site.put(logs, kDone + ".log", "=== run started: first\n");
  site.put(logs, kDone + ".changed", "README.md\n");
  // The later write is the newest even though its entry name sorts first (a retried entry). Its
  // time is set explicitly, a minute after the other's: no clock granularity decides the order.
  site.put(logs, "00000000000000000000-d0.json.log", "=== run started: retried\n| output\n");
  std::filesystem::last_write_time(
      logs / "00000000000000000000-d0.json.log",
      std::filesystem::last_write_time(logs / (kDone + ".log")) + std::chrono::minutes(1));

  const auto latest = deployctl(site.args({"logs", "site"}));
  CHECK(latest.status == 0);
  CHECK(latest.out == "=== run started: retried\n| output\n");
  CHECK_THAT(latest.err, Catch::Contains("00000000000000000000-d0.json.log"));

  const auto named = deployctl(site.args({"logs", "site", kDone}));
  CHECK(named.status == 0);
  CHECK(named.out == "=== run started: first\n");

  const auto missing = deployctl(site.args({"logs", "site", "00000000000000000042-x.json"}));
  CHECK(missing.status == 1);
  CHECK(missing.out.empty());
  CHECK(count_lines(missing.err) == 1);
  CHECK_THAT(missing.err, Catch::Contains("no log "));
}

TEST_CASE("logs of a deployment that never ran fails with one line") {
  Site site;
  const auto result = deployctl(site.args({"logs", "site"}));
  CHECK(result.status == 1);
  CHECK(count_lines(result.err) == 1);
  CHECK_THAT(result.err, Catch::Contains("no deploy logs in " + site.layout.logs("site").string()));
}
