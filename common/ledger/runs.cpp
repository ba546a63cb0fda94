// runs.cpp: deploy runs and their steps, and the last deployed commit.
#include "common/ledger/ledger.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"
#include "common/printable.hpp"

namespace ledger {
namespace {

std::optional<QueueState> queue_state_after(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::succeeded:
      return QueueState::succeeded;
    case RunOutcome::failed:
      return QueueState::failed;
    case RunOutcome::superseded:
      return QueueState::superseded;
    case RunOutcome::stale:
      return QueueState::stale;
    case RunOutcome::skipped:
      return QueueState::skipped;
    case RunOutcome::interrupted:
      return std::nullopt;  // the entry stays in active/ and runs again: its item stays running
  }
  return std::nullopt;
}

}  // namespace

RunId Ledger::start_run(const std::string& deployment, const std::string& entry,
                        const std::string& sha, const std::string& ref,
                        const std::optional<std::string>& previous_sha,
                        const std::optional<DeliveryKey>& delivery) {
  return session_->run("start_run", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit, one round trip
    // An unfinished earlier run of this entry belonged to a deployer that died; it is closed by
    // the same statement (a data-modifying WITH is atomic with the INSERT), so the history never
    // shows two runs of one entry going at once.
    const auto row = detail::autocommit_write([&] {
      return tx.exec_params1(
          "WITH closed AS (UPDATE runs SET outcome = 'interrupted', finished_at = now(),"
          " error = 'the deployer stopped before this run finished'"
          " WHERE deployment = $1 AND entry_name = $2 AND outcome IS NULL)"
          " INSERT INTO runs (deployment, entry_name, hook_id, delivery_id, trigger, sha, ref,"
          " previous_sha) VALUES ($1, $2, $3, $4,"
          " (SELECT trigger FROM queue_items WHERE deployment = $1 AND entry_name = $2),"
          " $5, $6, $7) RETURNING id",
          deployment, entry, detail::hook_of(delivery), detail::delivery_of(delivery), sha, ref,
          detail::nullable(previous_sha));
    });
    tx.commit();
    return row[0].as<RunId>();
  });
}

void Ledger::record_step(RunId run, int index, const std::string& name, StepOutcome outcome,
                         std::optional<int> exit_code, std::chrono::milliseconds duration) {
  std::optional<std::string> exit_text;
  if (exit_code) exit_text = std::to_string(*exit_code);
  session_->run("record_step", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit
    try {
      detail::autocommit_write([&] {
        return tx.exec_params(
            "INSERT INTO run_steps (run_id, step_index, name, outcome, exit_code, duration_ms)"
            " VALUES ($1, $2, $3, $4, $5::integer, $6)"
            " ON CONFLICT (run_id, step_index) DO UPDATE SET name = EXCLUDED.name,"
            " outcome = EXCLUDED.outcome, exit_code = EXCLUDED.exit_code,"
            " duration_ms = EXCLUDED.duration_ms, recorded_at = now()",
            run, index, name, std::string(to_string(outcome)), detail::nullable(exit_text),
            static_cast<std::int64_t>(duration.count()));
      });
    } catch (const pqxx::foreign_key_violation&) {
      throw Error("ledger: record_step: run " + std::to_string(run) + " does not exist");
    }
    tx.commit();
  });
}

void Ledger::finish_run(RunId run, RunOutcome outcome, const std::string& error) {
  session_->run("finish_run", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    const auto rows = tx.exec_params(
        "UPDATE runs SET outcome = $2, finished_at = now(), error = $3 WHERE id = $1"
        " RETURNING deployment, entry_name",
        run, std::string(to_string(outcome)), common::printable(error, {true}));
    if (rows.empty()) {
      throw Error("ledger: finish_run: run " + std::to_string(run) + " does not exist");
    }
    // The run and its queue item change together: the router's delivery_states() never sees a
    // finished run whose item still says running.
    if (const auto state = queue_state_after(outcome)) {
      tx.exec_params(
          "UPDATE queue_items SET state = $3, reason = $4, updated_at = now()"
          " WHERE deployment = $1 AND entry_name = $2",
          rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
          std::string(to_string(*state)), error);
    }
    tx.commit();
  });
}

void Ledger::retry_later(const std::string& deployment, const std::string& entry,
                         std::optional<RunId> run, const std::string& error, int next_attempt,
                         Time at) {
  const std::string error_text = common::printable(error, {true});
  session_->run("retry_later", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    // Together with the run: a crash never leaves the failed attempt without its next one. The
    // item already scheduled for this attempt: a repeated call, nothing more to write.
    const auto item = tx.exec_params(
        "UPDATE queue_items SET state = 'retrying', reason = $3, attempt = $4,"
        " next_attempt_at = " +
            detail::time_from("$5") +
            ", checks_deadline = NULL, updated_at = now()"
            " WHERE deployment = $1 AND entry_name = $2"
            " AND NOT (state = 'retrying' AND attempt = $4)"
            " RETURNING hook_id, delivery_id, trigger, sha, ref",
        deployment, entry, error_text, next_attempt, detail::to_micros(at));
    if (item.empty()) return;
    if (run) {
      const auto rows = tx.exec_params(
          "UPDATE runs SET outcome = 'failed', finished_at = now(), error = $2 WHERE id = $1", *run,
          error_text);
      if (rows.affected_rows() == 0) {
        throw Error("ledger: retry_later: run " + std::to_string(*run) + " does not exist");
      }
    } else {
      tx.exec_params(
          "INSERT INTO runs (deployment, entry_name, hook_id, delivery_id, trigger, sha, ref,"
          " started_at, finished_at, outcome, error)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now(), 'failed', $8)",
          deployment, entry, item[0][0].is_null() ? nullptr : item[0][0].c_str(),
          item[0][1].is_null() ? nullptr : item[0][1].c_str(), item[0][2].as<std::string>(),
          item[0][3].as<std::string>(), item[0][4].as<std::string>(), error_text);
    }
    tx.commit();
  });
}

std::optional<std::string> Ledger::last_deployed_sha(const std::string& deployment) {
  return session_->run("last_deployed_sha",
                       [&](pqxx::connection& conn) -> std::optional<std::string> {
                         pqxx::nontransaction tx{conn};  // one statement
                         const auto rows = tx.exec_params(
                             "SELECT sha FROM runs WHERE deployment = $1 AND outcome = 'succeeded'"
                             " ORDER BY finished_at DESC, id DESC LIMIT 1",
                             deployment);
                         if (rows.empty()) return std::nullopt;
                         return rows[0][0].as<std::string>();
                       });
}

}  // namespace ledger
