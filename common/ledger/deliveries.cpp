// deliveries.cpp: the router's records: one row per inbox entry, and what a delivery became.
#include "common/ledger/ledger.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"

namespace ledger {

void Ledger::record_delivery(const DeliveryRecord& record) {
  std::optional<std::string> received;
  if (record.received_at) received = std::to_string(detail::to_micros(*record.received_at));
  session_->run("record_delivery", [&](pqxx::connection& conn) {
    // One statement: autocommit (no BEGIN/COMMIT round trips), atomic all the same.
    pqxx::nontransaction tx{conn};
    // Same entry again (the router re-running it after a crash): the newest decision wins, the
    // first recorded_at stays.
    detail::autocommit_write([&] {
      return tx.exec_params(
          "INSERT INTO deliveries (hook_id, delivery_id, entry_name, event, decision, reason,"
          " received_at) VALUES ($1, $2, $3, $4, $5, $6, " +
              detail::time_from("$7") +
              ") ON CONFLICT (hook_id, delivery_id, entry_name) DO UPDATE SET"
              " event = EXCLUDED.event, decision = EXCLUDED.decision, reason = EXCLUDED.reason,"
              " received_at = coalesce(EXCLUDED.received_at, deliveries.received_at),"
              " decided_at = now()",
          record.key.hook_id, record.key.delivery_id, record.entry_name, record.event,
          std::string(to_string(record.decision)), record.reason, detail::nullable(received));
    });
    tx.commit();
  });
}

std::map<std::string, QueueState> Ledger::delivery_states(const std::string& hook_id,
                                                          const std::string& delivery_id,
                                                          const std::string& except_entry) {
  return session_->run("delivery_states", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: one consistent snapshot by itself
    // Newest item per deployment: entry names sort in arrival order, so after a failed deploy
    // and a redelivery the redelivery's item is the one that counts.
    const auto rows = tx.exec_params(
        "SELECT DISTINCT ON (deployment) deployment, state FROM queue_items"
        " WHERE hook_id = $1 AND delivery_id = $2 AND entry_name <> $3"
        " ORDER BY deployment, entry_name DESC",
        hook_id, delivery_id, except_entry);
    std::map<std::string, QueueState> states;
    for (const auto& row : rows) {
      states.emplace(row[0].as<std::string>(), parse_queue_state(row[1].as<std::string>()));
    }
    return states;
  });
}

std::map<std::string, QueueState> Ledger::delivery_states(const DeliveryKey& key,
                                                          const std::string& except_entry) {
  return delivery_states(key.hook_id, key.delivery_id, except_entry);
}

}  // namespace ledger
