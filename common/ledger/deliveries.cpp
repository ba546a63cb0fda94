// deliveries.cpp: the router's records: one row per inbox entry, and what a delivery became.
#include "common/ledger/ledger.hpp"

#include <map>
#include <tuple>

#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"
#include "common/printable.hpp"

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

void Ledger::record_deliveries(const std::vector<DeliveryRecord>& records) {
  // One row per entry (an upsert cannot touch one row twice in a statement): the last wins.
  std::map<std::tuple<std::string, std::string, std::string>, const DeliveryRecord*> last;
  for (const auto& r : records) last[{r.key.hook_id, r.key.delivery_id, r.entry_name}] = &r;
  if (last.empty()) return;
  std::vector<std::optional<std::string>> hooks, ids, entries, events, decisions, reasons, received;
  for (const auto& [key, r] : last) {
    hooks.emplace_back(r->key.hook_id);
    ids.emplace_back(r->key.delivery_id);
    entries.emplace_back(r->entry_name);
    events.emplace_back(r->event);
    decisions.emplace_back(std::string(to_string(r->decision)));
    reasons.emplace_back(common::printable(r->reason, {true}));  // PostgreSQL text: UTF-8, no NUL
    received.push_back(received_micros(*r));
  }
  session_->run("record_deliveries", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit, atomic all the same
    conn.prepare("record_deliveries",
                 "INSERT INTO deliveries (hook_id, delivery_id, entry_name, event, decision,"
                 " reason, received_at) SELECT h, d, e, ev, dec, r, " +
                     detail::time_from("t") +
                     " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
                     " $6::text[], $7::bigint[]) AS u(h, d, e, ev, dec, r, t)"
                     " ON CONFLICT (hook_id, delivery_id, entry_name) DO UPDATE SET"
                     " event = EXCLUDED.event, decision = EXCLUDED.decision,"
                     " reason = EXCLUDED.reason,"
                     " received_at = coalesce(EXCLUDED.received_at, deliveries.received_at),"
                     " decided_at = now()");
    detail::autocommit_write([&] {
      return tx.exec_prepared("record_deliveries", detail::text_array(hooks),
                              detail::text_array(ids), detail::text_array(entries),
                              detail::text_array(events), detail::text_array(decisions),
                              detail::text_array(reasons), detail::text_array(received));
    });
    tx.commit();
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
                              std::string(to_string(record.decision)),
                              common::printable(record.reason, {true}), detail::nullable(received));
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
