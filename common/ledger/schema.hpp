// schema.hpp (internal to the ledger library): reading the schema version inside a transaction.
#pragma once

#include <pqxx/pqxx>

namespace ledger::detail {

/// The highest version in schema_migrations, 0 when the table does not exist.
int schema_version(pqxx::transaction_base& tx);

/// Throws SchemaBehind when the database is behind latest_version().
void require_schema(pqxx::transaction_base& tx);

}  // namespace ledger::detail
