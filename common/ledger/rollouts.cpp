// rollouts.cpp: see rollouts.hpp.
#include "common/ledger/rollouts.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "common/ledger/errors.hpp"
#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"
#include "common/printable.hpp"

namespace ledger {
namespace {

// The first key of the two-key advisory lock on a deployment's rollouts: a space of its own,
// apart from the delivery locks of fan-out (19001) and migrate()'s one-key lock.
constexpr int rollout_lock_class = 19002;

// Every time written after this lock is clock_timestamp(), not now(): now() is when the
// transaction began, before it waited here, so one host's switch could seem to start before the
// previous host's ended.
void lock_deployment(pqxx::work& tx, const std::string& deployment) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                 static_cast<int>(rollout_lock_class), deployment);
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = std::min(text.find(' ', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Host names hold no space (valid_host_name), so the array crosses the wire as one text.
const std::string rollout_columns =
    "deployment, entry_name, sha, array_to_string(hosts, ' '), max_parallel, state, reason,"
    " failed_host, " +
    detail::micros_of("created_at") + ", " + detail::micros_of("updated_at") + ", " +
    detail::micros_of("finished_at");

const std::string host_columns =
    "host, state, release, error, " + detail::micros_of("joined_at") + ", " +
    detail::micros_of("seen_at") + ", " + detail::micros_of("built_at") + ", " +
    detail::micros_of("switch_started_at") + ", " + detail::micros_of("live_at") + ", " +
    detail::micros_of("ended_at");

Rollout read_rollout(const pqxx::row& row) {
  Rollout r;
  r.deployment = row[0].as<std::string>();
  r.entry_name = row[1].as<std::string>();
  r.sha = row[2].as<std::string>();
  r.hosts = split_words(row[3].as<std::string>());
  r.max_parallel = row[4].as<int>();
  r.state = parse_rollout_state(row[5].as<std::string>());
  r.reason = row[6].as<std::string>();
  r.failed_host = detail::optional_text(row[7]);
  r.created_at = detail::to_time(row[8].as<std::int64_t>());
  r.updated_at = detail::to_time(row[9].as<std::int64_t>());
  r.finished_at = detail::optional_time(row[10]);
  return r;
}

RolloutHost read_host(const pqxx::row& row) {
  RolloutHost h;
  h.host = row[0].as<std::string>();
  h.state = parse_rollout_host_state(row[1].as<std::string>());
  h.release = detail::optional_text(row[2]);
  h.error = row[3].as<std::string>();
  h.joined_at = detail::to_time(row[4].as<std::int64_t>());
  h.seen_at = detail::to_time(row[5].as<std::int64_t>());
  h.built_at = detail::optional_time(row[6]);
  h.switch_started_at = detail::optional_time(row[7]);
  h.live_at = detail::optional_time(row[8]);
  h.ended_at = detail::optional_time(row[9]);
  return h;
}

template <typename Tx>
std::optional<Rollout> load(Tx& tx, const std::string& deployment, const std::string& entry) {
  const auto rows = tx.exec_params(
      "SELECT " + rollout_columns + " FROM rollouts WHERE deployment = $1 AND entry_name = $2",
      deployment, entry);
  if (rows.empty()) return std::nullopt;
  Rollout rollout = read_rollout(rows[0]);
  const auto hosts = tx.exec_params(
      "SELECT " + host_columns +
          " FROM rollout_hosts h WHERE deployment = $1 AND entry_name = $2"
          " ORDER BY array_position((SELECT hosts FROM rollouts r WHERE r.deployment = $1"
          "   AND r.entry_name = $2), h.host), h.host",
      deployment, entry);
  for (const auto& row : hosts) rollout.host_rows.push_back(read_host(row));
  return rollout;
}

Rollout load_existing(pqxx::work& tx, const std::string& deployment, const std::string& entry) {
  auto rollout = load(tx, deployment, entry);
  if (!rollout) throw Error("ledger: no rollout of " + deployment + "/" + entry);
  return std::move(*rollout);
}

void insert_rollout(pqxx::work& tx, const RolloutPlan& plan) {
  tx.exec_params(
      "INSERT INTO rollouts (deployment, entry_name, sha, hosts, max_parallel, state, created_at,"
      " updated_at) VALUES ($1, $2, $3, $4::text[], $5, 'building', clock_timestamp(),"
      " clock_timestamp()) ON CONFLICT DO NOTHING",
      plan.deployment, plan.entry_name, plan.sha, detail::text_array(plan.hosts),
      plan.max_parallel);
}

// How a host's row moves to a state: the time column it stamps, the error it records (kept as
// it was when absent), and the states it may move from (any when empty).
struct HostMove {
  RolloutHostState state;
  std::string_view stamp;  // "ended_at", "live_at", "switch_started_at"
  std::optional<std::string> error;
  std::string_view from;  // an SQL list: "'building', 'built'"
};

// Every change of a host's row goes through here; seen_at is its deployer's latest word.
void move_host(pqxx::work& tx, const std::string& deployment, const std::string& entry,
               const std::string& host, const HostMove& move) {
  std::string sql = "UPDATE rollout_hosts SET state = $4, seen_at = clock_timestamp(), " +
                    std::string(move.stamp) +
                    " = clock_timestamp(), error = coalesce($5, error)"
                    " WHERE deployment = $1 AND entry_name = $2 AND host = $3";
  if (!move.from.empty()) sql += " AND state IN (" + std::string(move.from) + ")";
  const std::optional<std::string> error =
      move.error ? std::optional(common::printable(*move.error, {true})) : std::nullopt;
  tx.exec_params(sql, deployment, entry, host, std::string(to_string(move.state)),
                 detail::nullable(error));
}

void finish_rollout(pqxx::work& tx, const std::string& deployment, const std::string& entry,
                    RolloutState state, const std::string& reason,
                    const std::optional<std::string>& failed_host) {
  tx.exec_params(
      "UPDATE rollouts SET state = $3, reason = $4, failed_host = $5, updated_at = "
      "clock_timestamp(),"
      " finished_at = clock_timestamp() WHERE deployment = $1 AND entry_name = $2"
      " AND state IN ('building', 'switching')",
      deployment, entry, std::string(to_string(state)), common::printable(reason, {true}),
      detail::nullable(failed_host));
}

bool in(RolloutHostState state, std::initializer_list<RolloutHostState> states) {
  return std::find(states.begin(), states.end(), state) != states.end();
}

}  // namespace

const RolloutHost* Rollout::row(std::string_view host) const {
  for (const auto& h : host_rows) {
    if (h.host == host) return &h;
  }
  return nullptr;
}

Rollouts::Rollouts(std::string url) : session_(std::make_unique<detail::Session>(std::move(url))) {}

Rollouts::~Rollouts() = default;

Rollout Rollouts::join(const RolloutPlan& plan, const std::string& host) {
  return session_->run("rollout_join", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    lock_deployment(tx, plan.deployment);
    insert_rollout(tx, plan);
    Rollout rollout = load_existing(tx, plan.deployment, plan.entry_name);
    if (!rollout.finished()) {
      // A run starting again (a restarted deployer) starts over: whatever it had reached, its
      // release is built anew. A skipped host stays skipped: the others do not wait for it.
      tx.exec_params(
          "INSERT INTO rollout_hosts (deployment, entry_name, host, state, joined_at, seen_at)"
          " VALUES ($1, $2, $3, 'building', clock_timestamp(), clock_timestamp())"
          " ON CONFLICT (deployment, entry_name, host) DO UPDATE SET"
          "   state = CASE WHEN rollout_hosts.state = 'skipped' THEN 'skipped' ELSE 'building' END,"
          "   release = NULL, error = '', joined_at = clock_timestamp(), seen_at = "
          "clock_timestamp(), built_at = NULL,"
          "   switch_started_at = NULL, live_at = NULL, ended_at = NULL",
          plan.deployment, plan.entry_name, host);
      rollout = load_existing(tx, plan.deployment, plan.entry_name);
    }
    tx.commit();
    return rollout;
  });
}

void Rollouts::built(const std::string& deployment, const std::string& entry,
                     const std::string& host, const std::string& release) {
  session_->run("rollout_built", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    lock_deployment(tx, deployment);
    tx.exec_params(
        "UPDATE rollout_hosts h SET state = 'built', release = $4, built_at = clock_timestamp(),"
        " seen_at = clock_timestamp() FROM rollouts r"
        " WHERE h.deployment = $1 AND h.entry_name = $2 AND h.host = $3 AND h.state = 'building'"
        " AND r.deployment = h.deployment AND r.entry_name = h.entry_name"
        " AND r.state IN ('building', 'switching')",
        deployment, entry, host, release);
    tx.commit();
  });
}

RolloutStep Rollouts::step(const std::string& deployment, const std::string& entry,
                           const std::string& host, const HostDownRule& rule) {
  return session_->run("rollout_step", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    lock_deployment(tx, deployment);
    tx.exec_params(
        "UPDATE rollout_hosts SET seen_at = clock_timestamp()"
        " WHERE deployment = $1 AND entry_name = $2 AND host = $3",
        deployment, entry, host);
    const auto now = detail::to_time(
        tx.exec1("SELECT " + detail::micros_of("clock_timestamp()"))[0].as<std::int64_t>());
    RolloutStep result;
    result.rollout = load_existing(tx, deployment, entry);
    Rollout& rollout = result.rollout;
    const RolloutHost* own = rollout.row(host);
    const auto end_own = [&](RolloutHostState state) {
      if (own == nullptr ||
          !in(own->state, {RolloutHostState::built, RolloutHostState::building})) {
        return;
      }
      move_host(tx, deployment, entry, host, {state, "ended_at", std::nullopt, ""});
    };
    if (rollout.state == RolloutState::failed) {
      end_own(RolloutHostState::not_switched);
      result.action = RolloutAction::failed;
    } else if (rollout.state == RolloutState::superseded) {
      end_own(RolloutHostState::superseded);
      result.action = RolloutAction::superseded;
    } else if (rollout.state == RolloutState::succeeded) {
      result.action = RolloutAction::succeeded;
    }
    if (result.action != RolloutAction::wait) {
      tx.commit();
      return result;
    }

    // Hosts that have not reached the point the rollout waits for, and those late at it: not
    // built within the timeout of their run's start (or of the rollout's, before they join),
    // or switching for longer than the timeout.
    std::vector<std::string> pending, switching, built;
    for (const auto& name : rollout.hosts) {
      const RolloutHost* row = rollout.row(name);
      bool late = false;
      if (row == nullptr || row->state == RolloutHostState::building) {
        const Time since = row == nullptr ? rollout.created_at : row->joined_at;
        late = now - since > rule.timeout;
        pending.push_back(name);
      } else if (row->state == RolloutHostState::switching) {
        late = row->switch_started_at && now - *row->switch_started_at > rule.timeout;
        switching.push_back(name);
      } else if (row->state == RolloutHostState::built) {
        built.push_back(name);
      } else {
        continue;
      }
      if (late && rule.skip && name != host) {
        tx.exec_params(
            "INSERT INTO rollout_hosts (deployment, entry_name, host, state, error, joined_at,"
            " seen_at, ended_at) VALUES ($1, $2, $3, 'skipped', $4, clock_timestamp(),"
            " clock_timestamp(), clock_timestamp())"
            " ON CONFLICT (deployment, entry_name, host) DO UPDATE SET state = 'skipped',"
            "   error = EXCLUDED.error, ended_at = clock_timestamp()",
            deployment, entry, name,
            "did not answer within " + std::to_string(rule.timeout.count()) + " s: skipped");
        result.skipped.push_back(name);
        std::erase(pending, name);
        std::erase(switching, name);
      }
    }
    if (!result.skipped.empty()) result.rollout = load_existing(tx, deployment, entry);
    own = result.rollout.row(host);

    if (own != nullptr && own->state == RolloutHostState::live) {
      result.waiting_for = pending;
      result.waiting_for.insert(result.waiting_for.end(), switching.begin(), switching.end());
      result.waiting_for.insert(result.waiting_for.end(), built.begin(), built.end());
      if (result.waiting_for.empty()) {
        finish_rollout(tx, deployment, entry, RolloutState::succeeded, "", std::nullopt);
        result.action = RolloutAction::succeeded;
        result.rollout = load_existing(tx, deployment, entry);
      }
      tx.commit();
      return result;
    }
    // Nobody switches before every host has built: a build or preflight failing anywhere must
    // end the rollout while nothing live has changed.
    if (!pending.empty() || own == nullptr || own->state != RolloutHostState::built) {
      result.waiting_for = pending;
      tx.commit();
      return result;
    }
    const auto free = static_cast<std::size_t>(std::max(0, rollout.max_parallel)) > switching.size()
                          ? static_cast<std::size_t>(rollout.max_parallel) - switching.size()
                          : 0;
    // Built hosts switch in the order of `hosts`: this one when it is among the first `free`.
    const auto position = std::find(built.begin(), built.end(), host) - built.begin();
    if (static_cast<std::size_t>(position) < free) {
      move_host(tx, deployment, entry, host,
                {RolloutHostState::switching, "switch_started_at", std::nullopt, ""});
      tx.exec_params(
          "UPDATE rollouts SET state = 'switching', updated_at = clock_timestamp()"
          " WHERE deployment = $1 AND entry_name = $2 AND state = 'building'",
          deployment, entry);
      result.action = RolloutAction::switch_now;
      result.rollout = load_existing(tx, deployment, entry);
    } else {
      result.waiting_for = switching;
      for (auto it = built.begin(); it != built.begin() + position; ++it) {
        result.waiting_for.push_back(*it);
      }
    }
    tx.commit();
    return result;
  });
}

Rollout Rollouts::live(const std::string& deployment, const std::string& entry,
                       const std::string& host) {
  return session_->run("rollout_live", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    lock_deployment(tx, deployment);
    move_host(tx, deployment, entry, host,
              {RolloutHostState::live, "live_at", std::nullopt, "'switching'"});
    Rollout rollout = load_existing(tx, deployment, entry);
    tx.commit();
    return rollout;
  });
}

Rollout Rollouts::fail(const std::string& deployment, const std::string& entry,
                       const std::string& host, const std::string& error) {
  return session_->run("rollout_fail", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    lock_deployment(tx, deployment);
    move_host(tx, deployment, entry, host, {RolloutHostState::failed, "ended_at", error, ""});
    finish_rollout(tx, deployment, entry, RolloutState::failed, host + ": " + error, host);
    Rollout rollout = load_existing(tx, deployment, entry);
    tx.commit();
    return rollout;
  });
}

void Rollouts::end_host(const std::string& deployment, const std::string& entry,
                        const std::string& host, RolloutHostState state, const std::string& error) {
  session_->run("rollout_end_host", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    lock_deployment(tx, deployment);
    move_host(tx, deployment, entry, host, {state, "ended_at", error, ""});
    tx.commit();
  });
}

Rollout Rollouts::supersede(const RolloutPlan& plan, const std::string& host,
                            const std::string& reason) {
  return session_->run("rollout_supersede", [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    lock_deployment(tx, plan.deployment);
    insert_rollout(tx, plan);
    finish_rollout(tx, plan.deployment, plan.entry_name, RolloutState::superseded, reason,
                   std::nullopt);
    move_host(tx, plan.deployment, plan.entry_name, host,
              {RolloutHostState::superseded, "ended_at", reason, "'building', 'built'"});
    Rollout rollout = load_existing(tx, plan.deployment, plan.entry_name);
    tx.commit();
    return rollout;
  });
}

std::optional<Rollout> Rollouts::rollout(const std::string& deployment, const std::string& entry) {
  return session_->run("rollout", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};  // two statements, one snapshot
    return load(tx, deployment, entry);
  });
}

std::vector<Rollout> Rollouts::recent(const std::string& deployment, std::size_t limit) {
  return session_->run("recent_rollouts", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    const auto rows = tx.exec_params(
        "SELECT entry_name FROM rollouts WHERE deployment = $1"
        " ORDER BY created_at DESC, entry_name DESC LIMIT $2",
        deployment, static_cast<long long>(limit));
    std::vector<Rollout> out;
    for (const auto& row : rows) {
      if (auto rollout = load(tx, deployment, row[0].as<std::string>())) {
        out.push_back(std::move(*rollout));
      }
    }
    return out;
  });
}

}  // namespace ledger
