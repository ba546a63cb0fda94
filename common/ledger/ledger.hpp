// ledger.hpp: the deploy pipeline's memory in PostgreSQL: every delivery the router decided about,
// every entry in a deployment's queue, every deploy run and its steps (docs/ledger.md; the rules
// in docs/router.md "Redeliveries" and docs/replay.md). Used by the router (record_delivery,
// delivery_states, record_routing), the deployer (claim, start_run, record_step, finish_run,
// mark, last_deployed_sha) and deployctl (history, delivery_story).
//
// Contract:
// - Each call is one transaction: when it returns, its write is committed. A crash before that
//   leaves nothing of it. Every write is idempotent (INSERT ... ON CONFLICT, UPDATE to a value),
//   so repeating a call after a crash or an Unavailable is harmless; start_run is the exception
//   that records a new attempt, and closes the entry's unfinished earlier attempts as interrupted.
// - Errors (errors.hpp): Unavailable when the database cannot be reached (retry the same call with
//   capped backoff; the Ledger reconnects by itself on the next call), Error for anything else.
//   One log line per connection state change (connected, lost, restored), none per retry.
// - No I/O in the constructor. Not thread-safe: one Ledger per thread (each holds one connection).
// - Programs should call require_schema() at startup so an old database is reported clearly.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ledger/errors.hpp"
#include "common/ledger/release_types.hpp"
#include "common/ledger/types.hpp"
#include "common/ledger/views.hpp"

namespace ledger {

namespace detail {
class Session;
}

class Ledger {
 public:
  /// `url`: a libpq connection string or URI (common::database_url(config)). Throws Error when
  /// it is malformed; does not connect.
  explicit Ledger(std::string url);
  ~Ledger();
  Ledger(Ledger&&) noexcept;
  Ledger& operator=(Ledger&&) noexcept;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  /// Throws SchemaBehind when the database needs `deployctl migrate` first.
  void require_schema();

  /// True while the connection is open (it may still prove dead on the next call).
  bool connected() const noexcept;

  // --- The router ------------------------------------------------------------------------------

  /// Records the router's decision about one inbox entry, keyed by (hook id, delivery id, entry
  /// name): recording the same entry again replaces its decision and reason (a re-run after a
  /// crash); a redelivery (a new entry) adds a row. `record.decided_at` is ignored.
  void record_delivery(const DeliveryRecord& record);
  /// record_delivery of each record, in one statement (one round trip, atomic). Of several
  /// records of one entry, the last counts.
  void record_deliveries(const std::vector<DeliveryRecord>& records);

  /// For each deployment the delivery was routed to, the state of its newest queue item (by entry
  /// name, i.e. arrival order), ignoring items of `except_entry` (the entry being decided, so a
  /// router re-running an entry after a crash does not call its own routing a duplicate).
  /// The router drops a redelivery when any state blocks_redelivery(), routes it again otherwise.
  std::map<std::string, QueueState> delivery_states(const std::string& hook_id,
                                                    const std::string& delivery_id,
                                                    const std::string& except_entry = "");
  std::map<std::string, QueueState> delivery_states(const DeliveryKey& key,
                                                    const std::string& except_entry = "");

  /// Records that `entry` was put into the queue of each of `deployments` (state queued, trigger
  /// webhook), in one statement (one round trip, atomic). Returns the deployments whose item it
  /// created; an existing item is left as it is.
  std::vector<std::string> record_routing(const std::vector<std::string>& deployments,
                                          const std::string& entry,
                                          const std::optional<DeliveryKey>& delivery,
                                          const std::string& sha, const std::string& ref);

  // --- The deployer ----------------------------------------------------------------------------

  /// The deployer starts `entry`: sets its queue item to running and returns why it runs.
  ///   queued (routed by the router)          -> webhook
  ///   absent, or final (succeeded, failed,   -> operator: a replay dropped into the queue or a
  ///   superseded, stale)                        retry moved back from failed/; inserted/updated
  ///                                             with this sha and ref (and `delivery` if absent)
  ///   running (the deployer died mid-run)    -> its trigger is kept
  Trigger claim(const std::string& deployment, const std::string& entry, const std::string& sha,
                const std::string& ref, const std::optional<DeliveryKey>& delivery = std::nullopt);

  /// The queue item of `entry` in `deployment`, if the ledger has one.
  std::optional<QueueItem> queue_item(const std::string& deployment, const std::string& entry);

  /// The queue items of those of `entries` the ledger has (one round trip), by entry name.
  std::map<std::string, QueueItem> queue_items(const std::string& deployment,
                                               const std::vector<std::string>& entries);

  /// Records those of `entries` that are still queued webhook pushes as superseded, with
  /// `reason` and a finished run row each (as mark() does), in one statement. Returns the names
  /// it marked; the others (claimed, finished, operator's) are left alone.
  std::vector<std::string> supersede(const std::string& deployment,
                                     const std::vector<std::string>& entries,
                                     const std::string& reason);

  /// Records the start of a deploy run and returns its id. Earlier runs of the same entry that
  /// never finished (their deployer died) are closed as interrupted in the same transaction.
  RunId start_run(const std::string& deployment, const std::string& entry, const std::string& sha,
                  const std::string& ref, const std::optional<std::string>& previous_sha,
                  const std::optional<DeliveryKey>& delivery);

  /// Records (or re-records) step `index` of `run`. exit_code is absent when the step did not
  /// exit by itself (skipped, killed on timeout).
  void record_step(RunId run, int index, const std::string& name, StepOutcome outcome,
                   std::optional<int> exit_code, std::chrono::milliseconds duration);

  /// Closes `run` with its outcome and error text, and sets the entry's queue item to the same
  /// state (interrupted leaves it running: the entry will be run again). Throws Error for an
  /// unknown run id.
  void finish_run(RunId run, RunOutcome outcome, const std::string& error = "");

  /// Closes `run` as failed with `error` (without a run, one failing before its start: adds a
  /// finished failed run row, as mark() does) and, in the same transaction, puts the entry's
  /// queue item into `retrying`: attempt `next_attempt` is due at `at` (docs/deployer.md
  /// "Automatic retries"). The entry stays in active/; a deployer restarted meanwhile waits for
  /// `at` too. Repeating the call once it committed changes nothing.
  void retry_later(const std::string& deployment, const std::string& entry,
                   std::optional<RunId> run, const std::string& error, int next_attempt, Time at);

  /// Puts `entry`'s queue item into `waiting` with `reason` (the pending checks) and returns
  /// when the wait gives up: the deadline recorded when the entry first waited (kept across
  /// restarts), else `deadline`, which is then recorded.
  Time wait_for_checks(const std::string& deployment, const std::string& entry, Time deadline,
                       const std::string& reason);

  /// Records that `entry` was not deployed: superseded (a newer push is waiting), stale (older
  /// than the deployed commit), skipped (path filters, [skip deploy]), or failed before any run
  /// (e.g. a malformed replay). Sets the
  /// queue item's state and reason, and adds a finished run row for the history (once: repeating
  /// the call adds no second row). A run of the entry left open by a killed deployer is closed
  /// as interrupted in the same transaction. `sha`/`ref` are used only when the ledger has no
  /// item yet.
  void mark(const std::string& deployment, const std::string& entry, QueueState state,
            const std::string& reason, const std::string& sha = "", const std::string& ref = "");

  /// The sha of the deployment's most recently finished successful run.
  std::optional<std::string> last_deployed_sha(const std::string& deployment);

  // --- Release mode (release_types.hpp) ------------------------------------------------------

  /// Inserts or updates the row of release `name` (its outcome and reason; `run` when given).
  void record_release(const std::string& deployment, const std::string& name,
                      const std::string& sha, std::optional<RunId> run, ReleaseOutcome outcome,
                      const std::string& reason = "");

  /// Notes that the folder of release `name` was deleted (retention, a failed release).
  void release_removed(const std::string& deployment, const std::string& name);

  /// Records that `current` moved from `from` (absent on a first deploy) to `to`.
  void record_switch(const std::string& deployment, std::optional<RunId> run,
                     const std::optional<std::string>& from, const std::string& to,
                     SwitchReason reason);

  /// Records one rollback.
  void record_rollback(const RollbackRecord& record);

  /// Every release of the deployment the ledger knows (removed ones too), newest first.
  std::vector<Release> releases(const std::string& deployment);

  /// The deployed commit and, after an operator's rollback, the high water mark (DeployedState).
  DeployedState deployed_state(const std::string& deployment);

  // --- deployctl -------------------------------------------------------------------------------

  /// Last success, last failure and the `recent` newest runs of a deployment (without steps).
  DeploymentHistory history(const std::string& deployment, std::size_t recent = 10);

  /// Every row about `delivery_id` (all hooks): receipts, queue items, runs with their steps.
  DeliveryStory delivery_story(const std::string& delivery_id);

  /// The recorded steps of a run, by index.
  std::vector<Step> steps(RunId run);

  // --- The dashboard (views.hpp) ---------------------------------------------------------------

  /// `limit` runs of `deployment` after skipping the `offset` newest, and how many there are.
  RunPage runs_page(const std::string& deployment, std::size_t offset, std::size_t limit);
  /// One run with its steps; nullopt for an unknown id.
  std::optional<Run> run(RunId id);
  /// Outcome counts, duration histograms and last successes of every deployment.
  RunStatistics statistics();

 private:
  std::unique_ptr<detail::Session> session_;
};

}  // namespace ledger
