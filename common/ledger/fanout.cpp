// fanout.cpp: see fanout.hpp.
#include "common/ledger/fanout.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "common/ledger/rows.hpp"
#include "common/ledger/session.hpp"
#include "common/log.hpp"

namespace ledger {
namespace {

// The first key of the two-key advisory locks on deliveries (the second is a hash of the
// delivery): a space of its own, apart from migrate()'s one-key lock.
constexpr int delivery_lock_class = 19001;

}  // namespace

Fanout::Fanout(std::string url) : session_(std::make_unique<detail::Session>(std::move(url))) {}

Fanout::~Fanout() = default;

Routed Fanout::record_routing(const std::vector<std::string>& deployments, const std::string& entry,
                              const std::optional<DeliveryKey>& delivery, const std::string& sha,
                              const std::string& ref, const std::vector<FanoutTarget>& targets,
                              const std::string& origin_host, std::string_view content) {
  const pqxx::binarystring bytes(content.data(), content.size());
  return session_->run("record_routing", [&](pqxx::connection& conn) {
    Routed routed;
    // One transaction: the queue items (the routing decision the redelivery check reads) and
    // the items of the other hosts commit together, so no host can miss an entry that the
    // ledger calls routed, and no host gets one the ledger does not know.
    pqxx::work tx{conn};
    std::vector<std::string> routing = deployments;
    if (delivery) {
      // Two hosts' routers deciding about one delivery at once (a redelivery sent to another
      // receiver while the first is being routed): the second waits here for the first to
      // commit, then sees its queue items. Scoped to the transaction, so a router that dies
      // holding it releases it with its connection.
      tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2 || ' ' || $3))",
                     static_cast<int>(delivery_lock_class), delivery->hook_id,
                     delivery->delivery_id);
      const auto states = tx.exec_params(
          "SELECT DISTINCT ON (deployment) deployment, state FROM queue_items"
          " WHERE hook_id = $1 AND delivery_id = $2 AND entry_name <> $3"
          " AND deployment = ANY($4::text[]) ORDER BY deployment, entry_name DESC",
          delivery->hook_id, delivery->delivery_id, entry, detail::text_array(deployments));
      for (const auto& row : states) {
        const auto state = parse_queue_state(row[1].as<std::string>());
        if (!blocks_redelivery(state)) continue;
        const auto deployment = row[0].as<std::string>();
        std::erase(routing, deployment);
        routed.blocked.emplace(deployment, state);
      }
    }
    std::vector<std::string> hosts, target_deployments;
    for (const auto& target : targets) {
      if (std::find(routing.begin(), routing.end(), target.ledger_name) == routing.end()) continue;
      hosts.push_back(target.host);
      target_deployments.push_back(target.deployment);
    }
    // As Ledger::record_routing: DO NOTHING, never pushing back an item already claimed.
    const auto rows = tx.exec_params(
        "INSERT INTO queue_items (deployment, entry_name, hook_id, delivery_id, sha, ref,"
        " trigger, state) SELECT d, $2, $3, $4, $5, $6, 'webhook', 'queued'"
        " FROM unnest($1::text[]) AS t(d)"
        " ON CONFLICT (deployment, entry_name) DO NOTHING RETURNING deployment",
        detail::text_array(routing), entry, detail::hook_of(delivery),
        detail::delivery_of(delivery), sha, ref);
    if (!hosts.empty()) {
      tx.exec_params(
          "INSERT INTO fanout_items (host, deployment, entry_name, origin_host, content)"
          " SELECT h, d, $3, $4, $5 FROM unnest($1::text[], $2::text[]) AS t(h, d)"
          " ON CONFLICT (host, deployment, entry_name) DO NOTHING",
          detail::text_array(hosts), detail::text_array(target_deployments), entry, origin_host,
          bytes);
      // Sent at commit, once per host: a wake-up for its router, which polls as well.
      tx.exec_params("SELECT pg_notify($2, h) FROM (SELECT DISTINCT unnest($1::text[]) AS h) AS t",
                     detail::text_array(hosts), std::string(fanout_channel));
    }
    tx.commit();
    for (const auto& row : rows) routed.created.push_back(row[0].as<std::string>());
    return routed;
  });
}

void Fanout::send(const std::vector<FanoutTarget>& targets, const std::string& entry,
                  const std::string& origin_host, std::string_view content) {
  if (targets.empty()) return;
  const pqxx::binarystring bytes(content.data(), content.size());
  std::vector<std::string> hosts, deployments;
  for (const auto& target : targets) {
    hosts.push_back(target.host);
    deployments.push_back(target.deployment);
  }
  session_->run("send_fanout", [&](pqxx::connection& conn) {
    // One transaction: every target host gets the entry, or none does.
    pqxx::work tx{conn};
    tx.exec_params(
        "INSERT INTO fanout_items (host, deployment, entry_name, origin_host, content)"
        " SELECT h, d, $3, $4, $5 FROM unnest($1::text[], $2::text[]) AS t(h, d)"
        " ON CONFLICT (host, deployment, entry_name) DO NOTHING",
        detail::text_array(hosts), detail::text_array(deployments), entry, origin_host, bytes);
    tx.exec_params("SELECT pg_notify($2, h) FROM (SELECT DISTINCT unnest($1::text[]) AS h) AS t",
                   detail::text_array(hosts), std::string(fanout_channel));
    tx.commit();
    return 0;
  });
}

Delivered Fanout::deliver(const std::string& host, const std::vector<std::string>& deployments,
                          std::size_t limit, const Publish& publish) {
  return session_->run("deliver_fanout", [&](pqxx::connection& conn) {
    Delivered result;
    pqxx::work tx{conn};
    // SKIP LOCKED: a second router of the same host (a stray restart) takes other rows or none,
    // never the ones being published; the locks end with the transaction, so a router that dies
    // here leaves its rows to the next one.
    const auto rows = tx.exec_params(
        "SELECT id, deployment, entry_name, origin_host, content FROM fanout_items"
        " WHERE host = $1 AND delivered_at IS NULL AND deployment = ANY($2::text[])"
        " ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
        host, detail::text_array(deployments), static_cast<long long>(limit));
    result.taken = rows.size();
    std::vector<std::string> done;
    for (const auto& row : rows) {
      FanoutItem item;
      item.id = row[0].as<std::int64_t>();
      item.deployment = row[1].as<std::string>();
      item.entry_name = row[2].as<std::string>();
      item.origin_host = row[3].as<std::string>();
      item.content = pqxx::binarystring(row[4]).str();
      // Published before it is marked: a crash in between republishes the same name (a no-op).
      result.failure = publish(item);
      if (!result.failure.empty()) break;
      done.push_back(std::to_string(item.id));
    }
    if (!done.empty()) {
      tx.exec_params("UPDATE fanout_items SET delivered_at = now() WHERE id = ANY($1::bigint[])",
                     detail::text_array(done));
    }
    tx.commit();
    result.delivered = done.size();
    return result;
  });
}

std::size_t Fanout::prune(const std::string& host, std::chrono::hours age) {
  return session_->run("prune_fanout", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};  // one statement: autocommit, atomic all the same
    const auto result = detail::autocommit_write([&] {
      return tx.exec_params(
          "DELETE FROM fanout_items WHERE host = $1 AND delivered_at IS NOT NULL"
          " AND delivered_at < now() - make_interval(hours => $2)",
          host, static_cast<int>(age.count()));
    });
    return static_cast<std::size_t>(result.affected_rows());
  });
}

// --- Listener ------------------------------------------------------------------------------------

namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& host, bool& flag)
      : pqxx::notification_receiver(conn, std::string(fanout_channel)), host_(host), flag_(flag) {}
  void operator()(const std::string& payload, int) override {
    if (payload == host_) flag_ = true;
  }

 private:
  const std::string& host_;
  bool& flag_;
};

}  // namespace

struct Listener::State {
  std::unique_ptr<pqxx::connection> connection;
  std::unique_ptr<Receiver> receiver;
  bool notified = false;
};

Listener::Listener(std::string url, std::string host)
    : url_(std::move(url)), host_(std::move(host)) {}

Listener::~Listener() {
  if (state_) state_->receiver.reset();  // before its connection
}

bool Listener::wait(std::chrono::milliseconds timeout) {
  try {
    if (!state_) {
      auto state = std::make_unique<State>();
      state->connection = std::make_unique<pqxx::connection>(url_);
      state->receiver = std::make_unique<Receiver>(*state->connection, host_, state->notified);
      state_ = std::move(state);
      // Items committed while nobody listened sent their notifications into the void: a fresh
      // connection counts as a wake-up so the caller looks at once.
      return true;
    }
    state_->notified = false;
    const auto seconds = timeout.count() / 1000;
    const auto micros = (timeout.count() % 1000) * 1000;
    state_->connection->await_notification(static_cast<long>(seconds), static_cast<long>(micros));
    if (!state_->connection->is_open()) throw pqxx::broken_connection("connection closed");
    return state_->notified;
  } catch (const std::exception& e) {
    if (state_) state_->receiver.reset();
    state_.reset();
    throw Unavailable(std::string("ledger unavailable (listen ") + std::string(fanout_channel) +
                      "): " + e.what());
  }
}

}  // namespace ledger
