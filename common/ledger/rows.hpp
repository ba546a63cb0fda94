// rows.hpp (internal to the ledger library): the SELECT column lists of each table and the
// functions that turn a result row into a ledger type, plus NULL and time conversions.
//
// Times cross the wire as whole microseconds since the Unix epoch (bigint), never as text, so no
// time zone or date style setting of the server can change them.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/ledger/types.hpp"

namespace ledger::detail {

/// SQL expression: the timestamptz column `column` as bigint microseconds since the epoch.
std::string micros_of(const std::string& column);
/// SQL expression: bigint microseconds parameter `param` (e.g. "$3") as a timestamptz.
std::string time_from(const std::string& param);

Time to_time(std::int64_t micros);
std::int64_t to_micros(Time time);

/// A parameter value for libpqxx: nullptr (SQL NULL) when absent.
inline const char* nullable(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}
inline const char* hook_of(const std::optional<DeliveryKey>& key) {
  return key ? key->hook_id.c_str() : nullptr;
}
inline const char* delivery_of(const std::optional<DeliveryKey>& key) {
  return key ? key->delivery_id.c_str() : nullptr;
}

/// A PostgreSQL text[] literal of `values` ('{"a","b"}'), each element quoted and escaped: a list
/// of names goes in as one parameter ($2::text[]) instead of one statement per name.
std::string text_array(const std::vector<std::string>& values);
/// The same with SQL NULL elements for absent values.
std::string text_array(const std::vector<std::optional<std::string>>& values);

std::optional<std::string> optional_text(const pqxx::field& field);
std::optional<Time> optional_time(const pqxx::field& micros);

/// Column lists, in the order the read_* functions expect; `prefix` qualifies them ("r.").
std::string run_columns(const std::string& prefix = "");
std::string queue_item_columns(const std::string& prefix = "");
std::string delivery_columns(const std::string& prefix = "");
std::string step_columns(const std::string& prefix = "");

Run read_run(const pqxx::row& row);
QueueItem read_queue_item(const pqxx::row& row);
DeliveryRecord read_delivery(const pqxx::row& row);
Step read_step(const pqxx::row& row);

}  // namespace ledger::detail
