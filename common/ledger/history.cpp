// history.cpp: read-only views for operators: a deployment's history, a delivery's story.
#include <map>

#include "common/ledger/ledger.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"

namespace ledger {
namespace {

std::optional<Run> newest_with_outcome(pqxx::transaction_base& tx, const std::string& deployment,
                                       const char* outcome) {
  const auto rows = tx.exec_params("SELECT " + detail::run_columns() +
                                       " FROM runs WHERE deployment = $1 AND outcome = $2"
                                       " ORDER BY finished_at DESC, id DESC LIMIT 1",
                                   deployment, outcome);
  if (rows.empty()) return std::nullopt;
  return detail::read_run(rows[0]);
}

}  // namespace

DeploymentHistory Ledger::history(const std::string& deployment, std::size_t recent) {
  return session_->run("history", [&](pqxx::connection& conn) {
    // One snapshot for the three queries, so the summary agrees with the list.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{conn};
    DeploymentHistory history;
    history.deployment = deployment;
    history.last_success = newest_with_outcome(tx, deployment, "succeeded");
    history.last_failure = newest_with_outcome(tx, deployment, "failed");
    history.last_skipped = newest_with_outcome(tx, deployment, "skipped");
    const auto rows = tx.exec_params("SELECT " + detail::run_columns() +
                                         " FROM runs WHERE deployment = $1"
                                         " ORDER BY started_at DESC, id DESC LIMIT $2",
                                     deployment, static_cast<std::int64_t>(recent));
    for (const auto& row : rows) history.recent.push_back(detail::read_run(row));
    return history;
  });
}

DeliveryStory Ledger::delivery_story(const std::string& delivery_id) {
  return session_->run("delivery_story", [&](pqxx::connection& conn) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{conn};
    DeliveryStory story;
    story.delivery_id = delivery_id;
    for (const auto& row : tx.exec_params("SELECT " + detail::delivery_columns() +
                                              " FROM deliveries WHERE delivery_id = $1"
                                              " ORDER BY recorded_at, entry_name, hook_id",
                                          delivery_id)) {
      story.receipts.push_back(detail::read_delivery(row));
    }
    for (const auto& row : tx.exec_params("SELECT " + detail::queue_item_columns() +
                                              " FROM queue_items WHERE delivery_id = $1"
                                              " ORDER BY entry_name, deployment",
                                          delivery_id)) {
      story.items.push_back(detail::read_queue_item(row));
    }
    std::map<RunId, std::size_t> index_of;
    for (const auto& row : tx.exec_params(
             "SELECT " + detail::run_columns() + " FROM runs WHERE delivery_id = $1 ORDER BY id",
             delivery_id)) {
      story.runs.push_back(detail::read_run(row));
      index_of[story.runs.back().id] = story.runs.size() - 1;
    }
    for (const auto& row : tx.exec_params(
             "SELECT " + detail::step_columns("s.") +
                 " FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE r.delivery_id = $1"
                 " ORDER BY s.run_id, s.step_index",
             delivery_id)) {
      story.runs[index_of.at(row[0].as<RunId>())].steps.push_back(detail::read_step(row));
    }
    return story;
  });
}

std::vector<Step> Ledger::steps(RunId run) {
  return session_->run("steps", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<Step> steps;
    for (const auto& row : tx.exec_params("SELECT " + detail::step_columns() +
                                              " FROM run_steps WHERE run_id = $1"
                                              " ORDER BY step_index",
                                          run)) {
      steps.push_back(detail::read_step(row));
    }
    return steps;
  });
}

}  // namespace ledger
