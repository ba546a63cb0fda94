// fanout.hpp: the ledger side of fan-out to several hosts (docs/hosts.md, migration 0005).
//
// A router that routes an entry for a deployment that also runs on other hosts records, in the
// transaction that records the entry's queue items (Ledger::record_routing's rows), one
// fanout_items row per other host, holding the entry's bytes, and notifies the channel
// `deploy_fanout` with each target host as the payload (delivered on commit). Each host's router
// then takes its own rows with deliver() and publishes them into its local queue folders.
//
// Contract:
// - record_routing() is one transaction: the queue items and the fan-out items commit together or
//   not at all. Idempotent (ON CONFLICT DO NOTHING on both tables): a router re-running an entry
//   after a crash adds nothing and changes no item already delivered or claimed. With receivers
//   on several hosts, two routers may decide about the same delivery at the same time (the
//   router's redelivery check reads the ledger before it routes): record_routing takes a
//   transaction-scoped advisory lock on the delivery and checks again under it, so only one of
//   them routes it to a deployment; the other gets that deployment back as `blocked`.
// - deliver() locks up to `limit` undelivered rows of one host (FOR UPDATE SKIP LOCKED, so two
//   routers of one host never take the same row), calls `publish` for each in id order, marks
//   those it published delivered and commits. A crash or a lost connection before the commit
//   leaves the rows undelivered: they are published again, so `publish` must make a second
//   publish of the same item a no-op (the item's entry name is the file name).
// - Errors as the Ledger's (errors.hpp): Unavailable to retry later, Error otherwise. Not
//   thread-safe: one Fanout per thread. Listener holds a connection of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ledger/errors.hpp"
#include "common/ledger/types.hpp"

namespace ledger {

namespace detail {
class Session;
}

/// The NOTIFY channel of fan-out; the payload is the host that has new items.
inline constexpr std::string_view fanout_channel = "deploy_fanout";

/// One deployment of an entry to be delivered to one other host.
struct FanoutTarget {
  std::string deployment;
  std::string host;
  /// The queue item that stands for this target in `deployments` of record_routing (the host's
  /// ledger name of the deployment, common::ledger_name): a target whose item is blocked is
  /// left out.
  std::string ledger_name;
};

/// One row of fanout_items, as deliver() hands it to `publish`.
struct FanoutItem {
  std::int64_t id = 0;
  std::string deployment;
  std::string entry_name;
  std::string origin_host;
  std::string content;  ///< the entry file's exact bytes
};

/// What record_routing() did.
struct Routed {
  std::vector<std::string> created;  ///< deployments whose queue item it created
  /// Deployments it did not route to, with the state that blocked them: another entry of the
  /// same delivery already holds a queue item there whose state blocks a redelivery. Nothing
  /// was recorded for them.
  std::map<std::string, QueueState> blocked;
};

/// What one deliver() did.
struct Delivered {
  std::size_t taken = 0;      ///< rows locked
  std::size_t delivered = 0;  ///< rows published and marked delivered
  std::string failure;        ///< the first publish error ("" when none); later rows untouched
};

class Fanout {
 public:
  /// `url`: as Ledger's. Throws Error when it is malformed; does not connect.
  explicit Fanout(std::string url);
  ~Fanout();
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  /// Ledger::record_routing's queue items (`deployments` are ledger names), plus one fan-out
  /// item per target with `content`,
  /// from `origin_host`, in one transaction, after the redelivery check under the delivery's
  /// lock (see the file comment). Targets of blocked deployments are left out.
  Routed record_routing(const std::vector<std::string>& deployments, const std::string& entry,
                        const std::optional<DeliveryKey>& delivery, const std::string& sha,
                        const std::string& ref, const std::vector<FanoutTarget>& targets,
                        const std::string& origin_host, std::string_view content);

  /// One fan-out item per target with `content`, from `origin_host`, and the NOTIFY of each
  /// target host, in one transaction, without queue items: an operator's entry (deployctl
  /// rollback on several hosts), which each host's deployer records when it takes it. Idempotent
  /// (an item already there is left as it is).
  void send(const std::vector<FanoutTarget>& targets, const std::string& entry,
            const std::string& origin_host, std::string_view content);

  /// `publish` returns "" when the item is durably in place (or already was), else why not.
  using Publish = std::function<std::string(const FanoutItem&)>;

  /// See the file comment: the undelivered items of `host` for `deployments`, at most `limit`.
  /// A publish failure stops the batch; the items published before it are still marked.
  Delivered deliver(const std::string& host, const std::vector<std::string>& deployments,
                    std::size_t limit, const Publish& publish);

  /// Deletes the items of `host` delivered more than `age` ago (they hold whole entries); returns
  /// how many. Undelivered items are never deleted.
  std::size_t prune(const std::string& host, std::chrono::hours age);

 private:
  std::unique_ptr<detail::Session> session_;
};

/// LISTEN deploy_fanout on a connection of its own, to wake a host's router when items for it
/// are committed. A wake-up only: the caller polls too, since a notification sent while the
/// connection was down is lost.
class Listener {
 public:
  Listener(std::string url, std::string host);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Waits up to `timeout` for a notification naming this host; true when one came. Connects
  /// (and LISTENs) first when needed. Throws Unavailable when the database cannot be reached
  /// (the connection is dropped and made again on the next call).
  bool wait(std::chrono::milliseconds timeout);

 private:
  struct State;
  std::string url_;
  std::string host_;
  std::unique_ptr<State> state_;
};

}  // namespace ledger
