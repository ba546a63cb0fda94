// deliveries.cpp: the router's records: one row per inbox entry, and what a delivery became.
#include "common/ledger/ledger.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"

namespace ledger {

namespace {

// The upsert of one delivery record. The same entry again (the router re-running it after a
// crash): the newest decision wins, the first recorded_at stays.
std::string delivery_upsert() {
  return "INSERT INTO deliveries (hook_id, delivery_id, entry_name, event, decision, reason,"
         " received_at) VALUES ($1, $2, $3, $4, $5, $6, " +
         detail::time_from("$7") +
         ") ON CONFLICT (hook_id, delivery_id, entry_name) DO UPDATE SET"
         " event = EXCLUDED.event, decision = EXCLUDED.decision, reason = EXCLUDED.reason,"
         " received_at = coalesce(EXCLUDED.received_at, deliveries.received_at),"
         " decided_at = now()";
}

std::optional<std::string> received_micros(const DeliveryRecord& record) {
  if (!record.received_at) return std::nullopt;
  return std::to_string(detail::to_micros(*record.received_at));
}

}  // namespace

std::vector<std::string> Ledger::record_routing(const std::vector<std::string>& deployments,
                                                const std::string& entry,
                                                const std::optional<DeliveryKey>& delivery,
                                                const std::string& sha, const std::string& ref) {
  return session_->run("record_routing", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit, atomic all the same
    // DO NOTHING, not an update: a router re-running an entry must not push back an item the
    // deployer has already claimed or finished. Prepared once per connection, like the other
    // per-entry statements of the router: parsing and planning them for every entry was most of
    // the server's work.
    conn.prepare("record_routing",
                 "INSERT INTO queue_items (deployment, entry_name, hook_id, delivery_id, sha, ref,"
                 " trigger, state) SELECT d, $2, $3, $4, $5, $6, 'webhook', 'queued'"
                 " FROM unnest($1::text[]) AS t(d)"
                 " ON CONFLICT (deployment, entry_name) DO NOTHING RETURNING deployment");
    const auto rows = detail::autocommit_write([&] {
      return tx.exec_prepared("record_routing", detail::text_array(deployments), entry,
                              detail::hook_of(delivery), detail::delivery_of(delivery), sha, ref);
    });
    tx.commit();
    std::vector<std::string> created;
    for (const auto& row : rows) created.push_back(row[0].as<std::string>());
    return created;
  });
}

void Ledger::record_delivery(const DeliveryRecord& record) {
  const auto received = received_micros(record);
  session_->run("record_delivery", [&](pqxx::connection& conn) {
    // One statement: autocommit (no BEGIN/COMMIT round trips), atomic all the same.
    pqxx::nontransaction tx{conn};
    conn.prepare("record_delivery", delivery_upsert());  // once per connection
    detail::autocommit_write([&] {
      return tx.exec_prepared("record_delivery", record.key.hook_id, record.key.delivery_id,
                              record.entry_name, record.event,
                              std::string(to_string(record.decision)), record.reason,
                              detail::nullable(received));
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
    conn.prepare("delivery_states",
                 "SELECT DISTINCT ON (deployment) deployment, state FROM queue_items"
                 " WHERE hook_id = $1 AND delivery_id = $2 AND entry_name <> $3"
                 " ORDER BY deployment, entry_name DESC");  // once per connection
    const auto rows = tx.exec_prepared("delivery_states", hook_id, delivery_id, except_entry);
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
