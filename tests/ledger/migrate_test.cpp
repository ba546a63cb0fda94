// Migrations: from an empty database, re-run, concurrent runs, edited or half-applied schemas,
// and require_schema's message.
#include <latch>
#include <pqxx/pqxx>
#include <thread>

#include "tests/ledger/helpers.hpp"
#include "tests/support/child.hpp"

namespace {

int count_rows(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::read_transaction tx{conn};
  return tx.exec1(sql)[0].as<int>();
}

void execute(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  tx.exec0(sql);
  tx.commit();
}

std::string expected_message(int current) {
  return "ledger schema is at version " + std::to_string(current) + ", this program needs " +
         std::to_string(ledger::latest_version()) + ": run `deployctl migrate`";
}

}  // namespace

TEST_CASE("embedded migrations are numbered 1..N and match their files byte for byte") {
  const auto all = ledger::migrations();
  REQUIRE(all.size() >= 2);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CAPTURE(all[i].name);
    CHECK(all[i].version == static_cast<int>(i + 1));
    CHECK(test::read_file(test::source("common/ledger/migrations/" + std::string(all[i].name))) ==
          all[i].sql);
  }
  CHECK(ledger::latest_version() == static_cast<int>(all.size()));
}

TEST_CASE("migrate applies every migration to an empty database and nothing the second time") {
  test::Database db;
  CHECK(ledger::schema_version(db.url()) == 0);

  const auto applied = ledger::migrate(db.url());
  REQUIRE(applied.size() == ledger::migrations().size());
  for (std::size_t i = 0; i < applied.size(); ++i) CHECK(applied[i].version == int(i + 1));
  CHECK(ledger::schema_version(db.url()) == ledger::latest_version());
  for (const char* table : {"deliveries", "queue_items", "runs", "run_steps"}) {
    CAPTURE(table);
    CHECK(count_rows(db.url(), std::string("SELECT count(*) FROM ") + table) == 0);
  }

  CHECK(ledger::migrate(db.url()).empty());
  CHECK(count_rows(db.url(), "SELECT count(*) FROM schema_migrations") == ledger::latest_version());
}

TEST_CASE("two threads migrating at once both succeed and apply each migration once") {
  test::Database db;
  std::latch go{2};
  std::size_t applied[2] = {99, 99};
  std::string errors[2];
  auto migrate = [&](int i) {
    go.arrive_and_wait();
    try {
      applied[i] = ledger::migrate(db.url()).size();
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  };
  std::thread a(migrate, 0), b(migrate, 1);
  a.join();
  b.join();
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  CHECK(applied[0] + applied[1] == ledger::migrations().size());
  CHECK((applied[0] == 0 || applied[1] == 0));
  CHECK(count_rows(db.url(), "SELECT count(*) FROM schema_migrations") == ledger::latest_version());
}

TEST_CASE("require_schema names the database's version and the needed one and the fix") {
  test::Database db;
  try {
    ledger::require_schema(db.url());
    FAIL("require_schema accepted an empty database");
  } catch (const ledger::SchemaBehind& e) {
    CHECK(std::string(e.what()) == expected_message(0));
    CHECK(e.current() == 0);
    CHECK(e.needed() == ledger::latest_version());
  }
  ledger::Ledger ledger{db.url()};
  CHECK_THROWS_AS(ledger.require_schema(), ledger::SchemaBehind);

  ledger::migrate(db.url());
  CHECK_NOTHROW(ledger::require_schema(db.url()));
  CHECK_NOTHROW(ledger.require_schema());
}

TEST_CASE("a migration that fails is named and rolled back and leaves earlier ones applied") {
  test::Database db;
  ledger::migrate(db.url());
  // Forget the newest migration's row: the database now claims to be one version behind while
  // its objects exist, so re-applying that migration fails (its CREATE INDEX collides).
  const int latest = ledger::latest_version();
  execute(db.url(), "DELETE FROM schema_migrations WHERE version = " + std::to_string(latest));
  CHECK(ledger::schema_version(db.url()) == latest - 1);
  try {
    ledger::require_schema(db.url());
    FAIL("require_schema accepted a database one version behind");
  } catch (const ledger::SchemaBehind& e) {
    CHECK(std::string(e.what()) == expected_message(latest - 1));
  }

  try {
    ledger::migrate(db.url());
    FAIL("re-applying an applied migration succeeded");
  } catch (const ledger::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(std::string(ledger::migrations().back().name)) &&
                             Catch::Contains("failed"));
  }
  CHECK(ledger::schema_version(db.url()) == latest - 1);
}

TEST_CASE("migrate refuses a database whose applied migration has been edited since") {
  ledger_test::MigratedDatabase db;
  execute(db.url(), "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
  try {
    ledger::migrate(db.url());
    FAIL("migrate accepted an edited migration");
  } catch (const ledger::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(std::string(ledger::migrations()[0].name)) &&
                             Catch::Contains("changed after it was applied"));
  }
}

TEST_CASE("a malformed connection string is an Error at construction and not Unavailable") {
  CHECK_THROWS_AS(ledger::Ledger{"this is not a connection string"}, ledger::Error);
  CHECK_THROWS_AS(ledger::migrate("host"), ledger::Error);
}
