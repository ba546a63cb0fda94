// views.cpp: the dashboard's read-only queries (views.hpp).
#include "common/ledger/views.hpp"

#include "common/ledger/ledger.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"

namespace ledger {

const std::vector<double>& duration_buckets() {
  static const std::vector<double> buckets{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600};
  return buckets;
}

RunPage Ledger::runs_page(const std::string& deployment, std::size_t offset, std::size_t limit) {
  return session_->run("runs_page", [&](pqxx::connection& conn) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{conn};
    RunPage page;
    page.total = tx.exec_params1("SELECT count(*) FROM runs WHERE deployment = $1", deployment)[0]
                     .as<std::int64_t>();
    const auto rows = tx.exec_params("SELECT " + detail::run_columns() +
                                         " FROM runs WHERE deployment = $1"
                                         " ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3",
                                     deployment, static_cast<std::int64_t>(limit),
                                     static_cast<std::int64_t>(offset));
    for (const auto& row : rows) page.runs.push_back(detail::read_run(row));
    return page;
  });
}

std::optional<Run> Ledger::run(RunId id) {
  return session_->run("run", [&](pqxx::connection& conn) -> std::optional<Run> {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{conn};
    const auto rows =
        tx.exec_params("SELECT " + detail::run_columns() + " FROM runs WHERE id = $1", id);
    if (rows.empty()) return std::nullopt;
    Run run = detail::read_run(rows[0]);
    for (const auto& row : tx.exec_params("SELECT " + detail::step_columns() +
                                              " FROM run_steps WHERE run_id = $1"
                                              " ORDER BY step_index",
                                          id)) {
      run.steps.push_back(detail::read_step(row));
    }
    return run;
  });
}

RunStatistics Ledger::statistics() {
  return session_->run("statistics", [&](pqxx::connection& conn) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{conn};
    RunStatistics stats;
    for (const auto& row :
         tx.exec("SELECT deployment, outcome, count(*) FROM runs WHERE outcome IS NOT NULL"
                 " GROUP BY deployment, outcome")) {
      stats.outcomes[row[0].as<std::string>()][row[1].as<std::string>()] =
          row[2].as<std::uint64_t>();
    }
    // Cumulative counts per bucket in SQL (one row per deployment), made per-bucket below.
    const auto& bounds = duration_buckets();
    std::string columns;
    for (double bound : bounds) {
      columns += ", count(*) FILTER (WHERE d <= " + std::to_string(bound) + ")";
    }
    for (const auto& row :
         tx.exec("SELECT deployment, count(*), coalesce(sum(d), 0)" + columns +
                 " FROM (SELECT deployment, extract(epoch FROM finished_at - started_at)::float8"
                 " AS d FROM runs WHERE outcome IN ('succeeded', 'failed')) AS t"
                 " GROUP BY deployment")) {
      DurationHistogram histogram;
      const auto total = row[1].as<std::uint64_t>();
      histogram.sum_seconds = row[2].as<double>();
      std::uint64_t below = 0;
      for (std::size_t i = 0; i < bounds.size(); ++i) {
        const auto cumulative = row[static_cast<int>(i) + 3].as<std::uint64_t>();
        histogram.counts.push_back(cumulative - below);
        below = cumulative;
      }
      histogram.counts.push_back(total - below);
      stats.durations[row[0].as<std::string>()] = std::move(histogram);
    }
    for (const auto& row : tx.exec("SELECT deployment, " + detail::micros_of("max(finished_at)") +
                                   " FROM runs WHERE outcome = 'succeeded' GROUP BY deployment")) {
      stats.last_success[row[0].as<std::string>()] = detail::to_time(row[1].as<std::int64_t>());
    }
    for (const auto& row :
         tx.exec("SELECT r.deployment, count(*) FROM runs r"
                 " WHERE r.trigger = 'operator' AND r.outcome IS NOT NULL"
                 " AND r.previous_sha IS NOT NULL AND r.previous_sha <> r.sha"
                 " AND EXISTS (SELECT 1 FROM runs p WHERE p.deployment = r.deployment"
                 " AND p.sha = r.sha AND p.outcome = 'succeeded' AND p.id < r.id)"
                 " GROUP BY r.deployment")) {
      stats.rollbacks[row[0].as<std::string>()] = row[1].as<std::uint64_t>();
    }
    return stats;
  });
}

}  // namespace ledger
