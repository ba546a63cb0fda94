// `deployctl migrate` as a real process: applies, says so, is a no-op the second time, works
// from two processes at once, and fails with one clear line when the database is unreachable.
#include <pqxx/pqxx>

#include "tests/ledger/helpers.hpp"
#include "tests/support/child.hpp"

using namespace std::chrono_literals;

namespace {

// A minimal valid configuration; the database comes from DATABASE_URL (the default source).
std::filesystem::path write_config(const test::TempDir& dir) {
  const auto file = dir / "deployer.json";
  test::write_file(file, R"({
  "instance": "ledger-test",
  "state_dir": "var",
  "deployments": {
    "site": {
      "repository": "example/site",
      "branch": "main",
      "path": "/tmp/ledger-test-site",
      "steps": [{"name": "build", "run": ["true"]}]
    }
  }
})");
  return file;
}

std::vector<std::string> migrate_argv(const std::filesystem::path& config) {
  return {test::bin("deployctl").string(), "--config", config.string(), "migrate"};
}

}  // namespace

TEST_CASE("deployctl migrate applies the migrations and then reports the schema up to date") {
  test::Database db;
  test::TempDir dir("ledger-deployctl");
  const auto config = write_config(dir);
  const std::string latest = std::to_string(ledger::latest_version());

  auto first = test::run(migrate_argv(config), {{"DATABASE_URL", db.url()}});
  INFO(first.output);
  CHECK(first.status == 0);
  for (const auto& migration : ledger::migrations()) {
    CHECK_THAT(first.output, Catch::Contains("applied migration " + std::string(migration.name)));
  }
  CHECK_THAT(first.output, Catch::Contains("ledger schema is now at version " + latest));

  auto second = test::run(migrate_argv(config), {{"DATABASE_URL", db.url()}});
  INFO(second.output);
  CHECK(second.status == 0);
  CHECK_THAT(second.output, Catch::Contains("ledger schema is up to date at version " + latest));
  CHECK_THAT(second.output, !Catch::Contains("applied migration"));
}

TEST_CASE("two deployctl migrate processes at once both succeed and apply once") {
  test::Database db;
  test::TempDir dir("ledger-deployctl");
  const auto config = write_config(dir);
  const std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}};
  test::Child a(migrate_argv(config), env, dir / "a.out");
  test::Child b(migrate_argv(config), env, dir / "b.out");
  CHECK(a.wait(60s) == 0);
  CHECK(b.wait(60s) == 0);
  const std::string out = test::read_file(dir / "a.out") + test::read_file(dir / "b.out");
  INFO(out);
  CHECK(ledger_test::count_lines(out, "ledger schema is now at version") == 1);
  CHECK(ledger_test::count_lines(out, "ledger schema is up to date") == 1);
  pqxx::connection conn{db.url()};
  pqxx::read_transaction tx{conn};
  CHECK(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>() ==
        ledger::latest_version());
}

TEST_CASE("deployctl migrate against an unreachable database fails with one clear line") {
  test::TempDir dir("ledger-deployctl");
  const auto config = write_config(dir);
  auto result = test::run(migrate_argv(config),
                          {{"DATABASE_URL", "host=/nonexistent-ledger-test port=5 user=postgres"}});
  INFO(result.output);
  CHECK(result.status == 1);
  CHECK(ledger_test::count_lines(result.output, "deployctl: error: ledger unavailable (migrate)") ==
        1);
  CHECK(ledger_test::count_lines(result.output, "ledger") == 1);  // nothing but that line
}
