// rows.cpp: column lists and row readers for the ledger's tables.
#include "common/ledger/rows.hpp"

#include <vector>

namespace ledger::detail {
namespace {

std::string join(const std::string& prefix, const std::vector<std::string>& columns) {
  std::string out;
  for (const auto& column : columns) {
    if (!out.empty()) out += ", ";
    // Expressions (containing a parenthesis) carry their own prefix.
    out += column.find('(') == std::string::npos ? prefix + column : column;
  }
  return out;
}

std::optional<DeliveryKey> optional_key(const pqxx::field& hook, const pqxx::field& id) {
  if (hook.is_null() || id.is_null()) return std::nullopt;
  return DeliveryKey{hook.as<std::string>(), id.as<std::string>()};
}

}  // namespace

std::string micros_of(const std::string& column) {
  // extract(epoch ...) is numeric (exact) since PostgreSQL 14.
  return "(extract(epoch FROM " + column + ") * 1000000)::bigint";
}

std::string time_from(const std::string& param) {
  // Whole seconds and the microsecond remainder separately: exact, no float rounding.
  return "(timestamptz 'epoch' + (" + param + "::bigint / 1000000) * interval '1 second' + (" +
         param + "::bigint % 1000000) * interval '1 microsecond')";
}

Time to_time(std::int64_t micros) {
  return Time{std::chrono::microseconds{micros}};
}

std::int64_t to_micros(Time time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

std::string text_array(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";  // unquoted: SQL NULL ("NULL" quoted is the text NULL)
      continue;
    }
    out += '"';
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string text_array(const std::vector<std::string>& values) {
  return text_array(std::vector<std::optional<std::string>>(values.begin(), values.end()));
}

std::optional<std::string> optional_text(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

std::optional<Time> optional_time(const pqxx::field& micros) {
  if (micros.is_null()) return std::nullopt;
  return to_time(micros.as<std::int64_t>());
}

std::string run_columns(const std::string& p) {
  return join(p, {"id", "deployment", "entry_name", "hook_id", "delivery_id", "trigger", "sha",
                  "ref", "previous_sha", micros_of(p + "started_at"), micros_of(p + "finished_at"),
                  "outcome", "error"});
}

Run read_run(const pqxx::row& row) {
  Run run;
  run.id = row[0].as<RunId>();
  run.deployment = row[1].as<std::string>();
  run.entry_name = row[2].as<std::string>();
  run.delivery = optional_key(row[3], row[4]);
  if (!row[5].is_null()) run.trigger = parse_trigger(row[5].as<std::string>());
  run.sha = row[6].as<std::string>();
  run.ref = row[7].as<std::string>();
  run.previous_sha = optional_text(row[8]);
  run.started_at = to_time(row[9].as<std::int64_t>());
  run.finished_at = optional_time(row[10]);
  if (!row[11].is_null()) run.outcome = parse_run_outcome(row[11].as<std::string>());
  run.error = row[12].as<std::string>();
  return run;
}

std::string queue_item_columns(const std::string& p) {
  return join(p, {"deployment", "entry_name", "hook_id", "delivery_id", "sha", "ref", "trigger",
                  "state", "reason", micros_of(p + "created_at"), micros_of(p + "updated_at"),
                  "attempt", micros_of(p + "next_attempt_at"), micros_of(p + "checks_deadline")});
}

QueueItem read_queue_item(const pqxx::row& row) {
  QueueItem item;
  item.deployment = row[0].as<std::string>();
  item.entry_name = row[1].as<std::string>();
  item.delivery = optional_key(row[2], row[3]);
  item.sha = row[4].as<std::string>();
  item.ref = row[5].as<std::string>();
  item.trigger = parse_trigger(row[6].as<std::string>());
  item.state = parse_queue_state(row[7].as<std::string>());
  item.reason = row[8].as<std::string>();
  item.created_at = to_time(row[9].as<std::int64_t>());
  item.updated_at = to_time(row[10].as<std::int64_t>());
  item.attempt = row[11].as<int>();
  item.next_attempt_at = optional_time(row[12]);
  item.checks_deadline = optional_time(row[13]);
  return item;
}

std::string delivery_columns(const std::string& p) {
  return join(p, {"hook_id", "delivery_id", "entry_name", "event", "decision", "reason",
                  micros_of(p + "received_at"), micros_of(p + "decided_at")});
}

DeliveryRecord read_delivery(const pqxx::row& row) {
  DeliveryRecord record;
  record.key = {row[0].as<std::string>(), row[1].as<std::string>()};
  record.entry_name = row[2].as<std::string>();
  record.event = row[3].as<std::string>();
  record.decision = parse_decision(row[4].as<std::string>());
  record.reason = row[5].as<std::string>();
  record.received_at = optional_time(row[6]);
  record.decided_at = to_time(row[7].as<std::int64_t>());
  return record;
}

std::string step_columns(const std::string& p) {
  return join(p, {"run_id", "step_index", "name", "outcome", "exit_code", "duration_ms",
                  micros_of(p + "recorded_at")});
}

Step read_step(const pqxx::row& row) {
  Step step;
  step.index = row[1].as<int>();
  step.name = row[2].as<std::string>();
  step.outcome = parse_step_outcome(row[3].as<std::string>());
  if (!row[4].is_null()) step.exit_code = row[4].as<int>();
  step.duration = std::chrono::milliseconds{row[5].as<std::int64_t>()};
  step.recorded_at = to_time(row[6].as<std::int64_t>());
  return step;
}

}  // namespace ledger::detail
