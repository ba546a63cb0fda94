// releases.cpp: release mode's rows (migration 0003): releases, switches, rollbacks, and the
// deployed state the staleness rule reads.
#include <array>
#include <utility>

#include "common/ledger/ledger.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"

namespace ledger {
namespace {

constexpr std::array<std::pair<ReleaseOutcome, std::string_view>, 5> outcome_names{
    {{ReleaseOutcome::building, "building"},
     {ReleaseOutcome::ready, "ready"},
     {ReleaseOutcome::deployed, "deployed"},
     {ReleaseOutcome::failed, "failed"},
     {ReleaseOutcome::rolled_back, "rolled_back"}}};

std::optional<std::string> optional_run(const std::optional<RunId>& run) {
  if (!run) return std::nullopt;
  return std::to_string(*run);
}

}  // namespace

std::string_view to_string(ReleaseOutcome value) {
  for (const auto& [v, name] : outcome_names) {
    if (v == value) return name;
  }
  return "?";
}

ReleaseOutcome parse_release_outcome(std::string_view text) {
  for (const auto& [v, name] : outcome_names) {
    if (name == text) return v;
  }
  throw Error("ledger: unknown release outcome '" + std::string(text) + "'");
}

std::string_view to_string(SwitchReason value) {
  switch (value) {
    case SwitchReason::deploy:
      return "deploy";
    case SwitchReason::revert:
      return "revert";
    case SwitchReason::rollback:
      return "rollback";
  }
  return "?";
}

std::string_view to_string(RollbackKind value) {
  return value == RollbackKind::automatic ? "automatic" : "operator";
}

void Ledger::record_release(const std::string& deployment, const std::string& name,
                            const std::string& sha, std::optional<RunId> run,
                            ReleaseOutcome outcome, const std::string& reason) {
  const auto run_text = optional_run(run);
  session_->run("record_release", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit
    detail::autocommit_write([&] {
      return tx.exec_params(
          "INSERT INTO releases (deployment, name, sha, run_id, outcome, reason)"
          " VALUES ($1, $2, $3, $4::bigint, $5, $6)"
          " ON CONFLICT (deployment, name) DO UPDATE SET outcome = EXCLUDED.outcome,"
          " reason = EXCLUDED.reason, run_id = COALESCE(EXCLUDED.run_id, releases.run_id),"
          " updated_at = now()",
          deployment, name, sha, detail::nullable(run_text), std::string(to_string(outcome)),
          reason);
    });
  });
}

void Ledger::release_removed(const std::string& deployment, const std::string& name) {
  session_->run("release_removed", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    detail::autocommit_write([&] {
      return tx.exec_params(
          "UPDATE releases SET removed_at = COALESCE(removed_at, now()), updated_at = now()"
          " WHERE deployment = $1 AND name = $2",
          deployment, name);
    });
  });
}

void Ledger::record_switch(const std::string& deployment, std::optional<RunId> run,
                           const std::optional<std::string>& from, const std::string& to,
                           SwitchReason reason) {
  const auto run_text = optional_run(run);
  session_->run("record_switch", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    detail::autocommit_write([&] {
      return tx.exec_params(
          "INSERT INTO switches (deployment, run_id, from_release, to_release, reason)"
          " VALUES ($1, $2::bigint, $3, $4, $5)",
          deployment, detail::nullable(run_text), detail::nullable(from), to,
          std::string(to_string(reason)));
    });
  });
}

void Ledger::record_rollback(const RollbackRecord& record) {
  const auto run_text = optional_run(record.run);
  session_->run("record_rollback", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    detail::autocommit_write([&] {
      return tx.exec_params(
          "INSERT INTO rollbacks (deployment, run_id, kind, from_sha, to_sha, from_release,"
          " to_release, high_water_sha, reason) VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8,"
          " $9)",
          record.deployment, detail::nullable(run_text), std::string(to_string(record.kind)),
          detail::nullable(record.from_sha), record.to_sha, detail::nullable(record.from_release),
          detail::nullable(record.to_release), detail::nullable(record.high_water_sha),
          record.reason);
    });
  });
}

std::vector<Release> Ledger::releases(const std::string& deployment) {
  return session_->run("releases", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    std::vector<Release> out;
    for (const auto& row : tx.exec_params(
             "SELECT name, sha, run_id, outcome, reason, " + detail::micros_of("created_at") +
                 ", " + detail::micros_of("updated_at") + ", " + detail::micros_of("removed_at") +
                 " FROM releases WHERE deployment = $1 ORDER BY name DESC",
             deployment)) {
      Release release;
      release.deployment = deployment;
      release.name = row[0].as<std::string>();
      release.sha = row[1].as<std::string>();
      if (!row[2].is_null()) release.run = row[2].as<RunId>();
      release.outcome = parse_release_outcome(row[3].as<std::string>());
      release.reason = row[4].as<std::string>();
      release.created_at = detail::to_time(row[5].as<std::int64_t>());
      release.updated_at = detail::to_time(row[6].as<std::int64_t>());
      release.removed_at = detail::optional_time(row[7]);
      out.push_back(std::move(release));
    }
    return out;
  });
}

DeployedState Ledger::deployed_state(const std::string& deployment) {
  return session_->run("deployed_state", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement
    // The newest successful run, and the high water mark of the operator's rollback it was, if
    // it was one (a later successful deploy clears the mark by being newer).
    const auto rows = tx.exec_params(
        "SELECT r.sha, (SELECT b.high_water_sha FROM rollbacks b WHERE b.run_id = r.id"
        " AND b.kind = 'operator' ORDER BY b.id DESC LIMIT 1)"
        " FROM runs r WHERE r.deployment = $1 AND r.outcome = 'succeeded'"
        " ORDER BY r.finished_at DESC, r.id DESC LIMIT 1",
        deployment);
    DeployedState state;
    if (rows.empty()) return state;
    state.sha = rows[0][0].as<std::string>();
    state.high_water_sha = detail::optional_text(rows[0][1]);
    return state;
  });
}

}  // namespace ledger
