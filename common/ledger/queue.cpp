// queue.cpp: queue items claimed by the deployer and marked when skipped (the router creates them:
// record_routing in deliveries.cpp).
#include "common/ledger/ledger.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"
#include "common/printable.hpp"

namespace ledger {

Trigger Ledger::claim(const std::string& deployment, const std::string& entry,
                      const std::string& sha, const std::string& ref,
                      const std::optional<DeliveryKey>& delivery) {
  return session_->run("claim", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit
    // One statement, so two claims of one entry cannot both see "queued": the conflicting row is
    // locked and the CASE reads its latest committed state.
    const auto row = detail::autocommit_write([&] {
      return tx.exec_params1(
          "INSERT INTO queue_items (deployment, entry_name, hook_id, delivery_id, sha, ref,"
          " trigger, state) VALUES ($1, $2, $3, $4, $5, $6, 'operator', 'running')"
          " ON CONFLICT (deployment, entry_name) DO UPDATE SET"
          "   trigger = CASE WHEN queue_items.state = 'queued' THEN 'webhook'"
          "                  WHEN queue_items.state IN ('running', 'waiting', 'retrying')"
          "                  THEN queue_items.trigger ELSE 'operator' END,"
          // A run that carries on (a restart, the next automatic attempt) keeps its attempt
          // number and its deadline for checks; anything else starts afresh.
          "   attempt = CASE WHEN queue_items.state IN ('running', 'waiting', 'retrying')"
          "                  THEN queue_items.attempt ELSE 1 END,"
          "   checks_deadline = CASE WHEN queue_items.state IN ('running', 'waiting')"
          "                          THEN queue_items.checks_deadline END,"
          "   next_attempt_at = NULL,"
          "   hook_id = coalesce(queue_items.hook_id, EXCLUDED.hook_id),"
          "   delivery_id = coalesce(queue_items.delivery_id, EXCLUDED.delivery_id),"
          "   sha = EXCLUDED.sha, ref = EXCLUDED.ref, state = 'running', reason = '',"
          "   updated_at = now()"
          " RETURNING trigger",
          deployment, entry, detail::hook_of(delivery), detail::delivery_of(delivery), sha, ref);
    });
    tx.commit();
    return parse_trigger(row[0].as<std::string>());
  });
}

std::optional<QueueItem> Ledger::queue_item(const std::string& deployment,
                                            const std::string& entry) {
  return session_->run("queue_item", [&](pqxx::connection& conn) -> std::optional<QueueItem> {
    pqxx::nontransaction tx{conn};  // one statement
    const auto rows =
        tx.exec_params("SELECT " + detail::queue_item_columns() +
                           " FROM queue_items WHERE deployment = $1 AND entry_name = $2",
                       deployment, entry);
    if (rows.empty()) return std::nullopt;
    return detail::read_queue_item(rows[0]);
  });
}

std::map<std::string, QueueItem> Ledger::queue_items(const std::string& deployment,
                                                     const std::vector<std::string>& entries) {
  return session_->run("queue_items", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement
    const auto rows = tx.exec_params("SELECT " + detail::queue_item_columns() +
                                         " FROM queue_items WHERE deployment = $1"
                                         " AND entry_name = ANY($2::text[])",
                                     deployment, detail::text_array(entries));
    std::map<std::string, QueueItem> items;
    for (const auto& row : rows) {
      QueueItem item = detail::read_queue_item(row);
      std::string name = item.entry_name;
      items.emplace(std::move(name), std::move(item));
    }
    return items;
  });
}

std::vector<std::string> Ledger::supersede(const std::string& deployment,
                                           const std::vector<std::string>& entries,
                                           const std::string& reason) {
  return session_->run("supersede", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit
    // The queue items and their finished run rows (what mark() writes for one entry) together:
    // a data-modifying WITH is atomic with the statement that reads it.
    const auto rows = detail::autocommit_write([&] {
      return tx.exec_params(
          "WITH marked AS (UPDATE queue_items SET state = 'superseded', reason = $3,"
          "   updated_at = now()"
          " WHERE deployment = $1 AND entry_name = ANY($2::text[]) AND state = 'queued'"
          "   AND trigger = 'webhook'"
          " RETURNING entry_name, hook_id, delivery_id, trigger, sha, ref)"
          " INSERT INTO runs (deployment, entry_name, hook_id, delivery_id, trigger, sha, ref,"
          " started_at, finished_at, outcome, error)"
          " SELECT $1, entry_name, hook_id, delivery_id, trigger, sha, ref, now(), now(),"
          " 'superseded', $3 FROM marked RETURNING entry_name",
          deployment, detail::text_array(entries), common::printable(reason, {true}));
    });
    tx.commit();
    std::vector<std::string> names;
    names.reserve(rows.size());
    for (const auto& row : rows) names.push_back(row[0].as<std::string>());
    return names;
  });
}

Time Ledger::wait_for_checks(const std::string& deployment, const std::string& entry, Time deadline,
                             const std::string& reason) {
  return session_->run("wait_for_checks", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit
    const auto row = detail::autocommit_write([&] {
      return tx.exec_params1(
          "UPDATE queue_items SET state = 'waiting', reason = $3,"
          " checks_deadline = coalesce(checks_deadline, " +
              detail::time_from("$4") +
              "), updated_at = now()"
              " WHERE deployment = $1 AND entry_name = $2 RETURNING " +
              detail::micros_of("checks_deadline"),
          deployment, entry, common::printable(reason, {true}), detail::to_micros(deadline));
    });
    tx.commit();
    return detail::to_time(row[0].as<std::int64_t>());
  });
}

void Ledger::mark(const std::string& deployment, const std::string& entry, QueueState state,
                  const std::string& reason, const std::string& sha, const std::string& ref) {
  if (state != QueueState::superseded && state != QueueState::stale &&
      state != QueueState::skipped && state != QueueState::failed) {
    throw Error("ledger: mark " + deployment + "/" + entry + ": state " +
                std::string(to_string(state)) +
                " is not one of superseded, stale, skipped, failed");
  }
  const std::string state_text{to_string(state)};
  // The reason may quote an entry's bytes (a parser's message): PostgreSQL refuses text that is
  // not UTF-8 or holds a NUL, and one such entry must not stop the program (printable.hpp).
  const std::string reason_text = common::printable(reason, {true});
  const std::string sha_text = common::printable(sha);
  const std::string ref_text = common::printable(ref);
  session_->run("mark", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    const auto item = tx.exec_params1(
        "INSERT INTO queue_items (deployment, entry_name, sha, ref, trigger, state, reason)"
        " VALUES ($1, $2, $3, $4, 'operator', $5, $6)"
        " ON CONFLICT (deployment, entry_name) DO UPDATE SET"
        "   state = EXCLUDED.state, reason = EXCLUDED.reason, next_attempt_at = NULL,"
        "   updated_at = now()"
        " RETURNING hook_id, delivery_id, trigger, sha, ref",
        deployment, entry, sha_text, ref_text, state_text, reason_text);
    // A run of this entry left open by a deployer killed mid-deploy is closed as interrupted,
    // as start_run would have done had the entry run again: the decision ends the entry, so no
    // run of it may stay "running" in the history forever.
    tx.exec_params(
        "UPDATE runs SET outcome = 'interrupted', finished_at = now(),"
        " error = 'the deployer stopped before this run finished'"
        " WHERE deployment = $1 AND entry_name = $2 AND outcome IS NULL",
        deployment, entry);
    // A finished run row, so `deployctl status` shows the decision among the runs. Skipped when
    // the entry's newest run already says the same (the same mark() repeated after a crash).
    tx.exec_params(
        "INSERT INTO runs (deployment, entry_name, hook_id, delivery_id, trigger, sha, ref,"
        " started_at, finished_at, outcome, error)"
        " SELECT $1, $2, $3, $4, $5, $6, $7, now(), now(), $8, $9"
        " WHERE NOT EXISTS (SELECT 1 FROM (SELECT outcome, error FROM runs"
        "   WHERE deployment = $1 AND entry_name = $2 ORDER BY id DESC LIMIT 1) AS newest"
        "   WHERE newest.outcome = $8 AND newest.error = $9)",
        deployment, entry, item[0].is_null() ? nullptr : item[0].c_str(),
        item[1].is_null() ? nullptr : item[1].c_str(), item[2].as<std::string>(),
        item[3].as<std::string>(), item[4].as<std::string>(), state_text, reason_text);
    tx.commit();
  });
}

}  // namespace ledger
