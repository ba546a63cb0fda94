// migrations.hpp: the ledger's versioned SQL schema, built into every program, and applying it.
//
// The migrations are common/ledger/migrations/NNNN_name.sql, numbered 1, 2, ... without gaps;
// the build embeds them (embed_migrations.cmake), so a program never needs the source tree.
//
// migrate() contract: takes a PostgreSQL advisory lock for the whole run, so two processes
// migrating at once apply each migration exactly once (the second waits, then finds nothing to
// do). Each migration runs in its own transaction together with its schema_migrations row: when
// migrate() returns, every applied migration is committed; a crash or a lost connection leaves
// the database at the last committed migration, and running migrate() again continues from there.
// A migration already applied whose SQL has changed since (checksum) is refused with an Error.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ledger {

struct Migration {
  int version;            // 1, 2, ... (the NNNN of the file name)
  std::string_view name;  // the file name, e.g. "0001_initial.sql"
  std::string_view sql;   // the file's contents
};

/// The migrations built into this program, in version order.
std::span<const Migration> migrations();

/// The version this program needs: that of its newest migration.
int latest_version();

/// Applies every migration the database lacks, in order; returns those it applied (empty when the
/// schema was up to date). Throws Unavailable when the database cannot be reached, Error on a
/// failing migration (that migration is rolled back; earlier ones stay applied).
std::vector<Migration> migrate(const std::string& url);

/// The highest migration version applied to the database (0 for an empty database).
int schema_version(const std::string& url);

/// Throws SchemaBehind ("ledger schema is at version 0, this program needs 2: run `deployctl
/// migrate`") when the database is behind this program. A newer schema is accepted: migrations
/// only add to it.
void require_schema(const std::string& url);

}  // namespace ledger
