// migrate.cpp: applying the embedded migrations under an advisory lock, and schema version checks.
#include <cstdint>
#include <map>

#include "common/ledger/errors.hpp"
#include "common/ledger/migrations.hpp"
#include "common/ledger/schema.hpp"
#include "common/ledger/session.hpp"
#include "common/log.hpp"

namespace ledger {
namespace {

// The advisory lock every migrate() takes: "ledger" in ASCII, then 1. Any fixed number works as
// long as no other program sharing the database uses it.
constexpr std::int64_t migration_lock = 0x6c6564676572'0001;

// schema_migrations is created by migrate() itself (under the lock), not by a migration: it has
// to exist before the first migration can be recorded.
constexpr const char* create_schema_migrations = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer     PRIMARY KEY,
  name       text        NOT NULL,
  checksum   text        NOT NULL,  -- md5 of the migration's SQL, to notice edited migrations
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

struct Applied {
  std::string name;
  std::string checksum;
};

std::map<int, Applied> applied_migrations(pqxx::connection& conn) {
  pqxx::read_transaction tx{conn};
  std::map<int, Applied> applied;
  for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations")) {
    applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return applied;
}

void check_unchanged(pqxx::connection& conn, const Migration& migration, const Applied& applied) {
  pqxx::read_transaction tx{conn};
  const auto checksum = tx.exec_params1("SELECT md5($1)", std::string(migration.sql))[0];
  if (checksum.as<std::string>() != applied.checksum) {
    throw Error("ledger: migration " + std::string(migration.name) +
                " was changed after it was applied to this database (checksum differs): "
                "restore the original file and add a new migration instead");
  }
}

void apply(pqxx::connection& conn, const Migration& migration) {
  try {
    // The migration and its schema_migrations row commit together: a crash leaves either both or
    // neither, so the next migrate() never skips a half-applied migration nor repeats a whole one.
    pqxx::work tx{conn};
    tx.exec(std::string(migration.sql));
    tx.exec_params(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, md5($3))",
        migration.version, std::string(migration.name), std::string(migration.sql));
    tx.commit();
  } catch (const pqxx::sql_error& e) {
    if (detail::is_unavailable_state(e.sqlstate()) || !conn.is_open()) throw;
    throw Error("ledger: migration " + std::string(migration.name) + " failed: " + e.what());
  }
}

}  // namespace

int latest_version() {
  const auto all = migrations();
  return all.empty() ? 0 : all.back().version;
}

std::vector<Migration> migrate(const std::string& url) {
  detail::Session session{url};
  return session.run("migrate", [](pqxx::connection& conn) {
    // Serialises concurrent migrate() calls (two deployctl runs, a deploy script racing a
    // person): the second one waits here and then finds everything applied. Session-level lock,
    // released when this function's connection closes, also if the process dies.
    {
      pqxx::nontransaction lock{conn};
      lock.exec_params("SELECT pg_advisory_lock($1)", migration_lock);
      lock.commit();
    }
    {
      pqxx::work tx{conn};
      tx.exec0(create_schema_migrations);
      tx.commit();
    }
    const auto applied = applied_migrations(conn);
    std::vector<Migration> done;
    for (const Migration& migration : migrations()) {
      if (auto it = applied.find(migration.version); it != applied.end()) {
        check_unchanged(conn, migration, it->second);
        continue;
      }
      apply(conn, migration);
      common::log::info("ledger migration applied",
                        {{"version", migration.version}, {"name", migration.name}});
      done.push_back(migration);
    }
    return done;
  });
}

int schema_version(const std::string& url) {
  detail::Session session{url};
  return session.run("schema_version", [](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return detail::schema_version(tx);
  });
}

void require_schema(const std::string& url) {
  detail::Session session{url};
  session.run("require_schema", [](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    detail::require_schema(tx);
  });
}

namespace detail {

int schema_version(pqxx::transaction_base& tx) {
  if (tx.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) return 0;
  return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
}

void require_schema(pqxx::transaction_base& tx) {
  const int current = schema_version(tx);
  if (current < latest_version()) throw SchemaBehind(current, latest_version());
}

}  // namespace detail
}  // namespace ledger
