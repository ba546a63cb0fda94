// types.hpp: the values the ledger stores and returns (deliveries, queue items, runs, steps).
//
// Every enum has to_string() giving the exact text stored in the database (and shown by
// `deployctl status`), and a parse_*() that throws ledger::Error naming the unknown text.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ledger {

/// Database timestamps, at microsecond precision.
using Time = std::chrono::system_clock::time_point;

/// Identity of a deploy run (the runs table's id).
using RunId = std::int64_t;

/// A GitHub delivery: one delivery id is sent to every hook subscribed to an event, so the hook id
/// is part of the key. A delivery without a hook id (X-GitHub-Hook-ID missing) has hook_id "".
struct DeliveryKey {
  std::string hook_id;
  std::string delivery_id;
  friend bool operator==(const DeliveryKey&, const DeliveryKey&) = default;
};

/// What the router decided about one inbox entry.
enum class Decision { routed, duplicate, ignored, rejected, ping };

/// Where one entry stands in one deployment's queue.
///   queued      routed by the router, not yet taken by the deployer
///   running     taken by the deployer (also after an interrupted run, until it runs again)
///   waiting     a webhook push in active/ waiting for its commit's checks (wait_for_checks)
///   retrying    in active/ after a transient failure, until its next attempt (retry)
///   succeeded, failed, superseded (a newer push was deployed instead), stale (older than the
///   commit already deployed), skipped (path filters, [skip deploy]): final.
enum class QueueState {
  queued,
  running,
  succeeded,
  failed,
  superseded,
  stale,
  skipped,
  waiting,
  retrying
};

/// Why an entry is deployed: routed from a webhook, or put in the queue by a person (replay,
/// retry, rollback). Operator entries are always deployed; webhook entries may be skipped.
enum class Trigger { webhook, operator_ };

/// How one step of a run ended.
enum class StepOutcome { succeeded, failed, skipped, timeout };

/// How a run ended. `interrupted`: the deployer stopped (SIGTERM, crash) and will run the entry
/// again; its queue item stays `running`.
enum class RunOutcome { succeeded, failed, superseded, stale, interrupted, skipped };

std::string_view to_string(Decision value);
std::string_view to_string(QueueState value);
std::string_view to_string(Trigger value);  // "webhook" | "operator"
std::string_view to_string(StepOutcome value);
std::string_view to_string(RunOutcome value);

Decision parse_decision(std::string_view text);
QueueState parse_queue_state(std::string_view text);
Trigger parse_trigger(std::string_view text);
StepOutcome parse_step_outcome(std::string_view text);
RunOutcome parse_run_outcome(std::string_view text);

/// True for states in which a redelivery of the same delivery must not be deployed again:
/// queued, running, succeeded, and superseded/stale (a newer commit is or will be deployed).
/// False only for failed: people press "Redeliver" to deploy again after a failure.
bool blocks_redelivery(QueueState state);

/// True for the states a queue item ends in (succeeded, failed, superseded, stale, skipped).
bool is_final(QueueState state);

/// The router's record of one inbox entry (input of Ledger::record_delivery, and part of a
/// delivery's story). A redelivery is a new inbox entry, so a delivery has one record per entry.
struct DeliveryRecord {
  DeliveryKey key;
  std::string entry_name;  // the inbox entry's file name
  std::string event;       // X-GitHub-Event ("push", "ping", ...)
  Decision decision = Decision::ignored;
  std::string reason;               // why (free text, may be empty)
  std::optional<Time> received_at;  // the entry's "received_at", when known
  Time decided_at{};                // set by the database; ignored on input
};

/// One entry in one deployment's queue, as the ledger knows it.
struct QueueItem {
  std::string deployment;
  std::string entry_name;
  std::optional<DeliveryKey> delivery;  // absent for an operator's hand-written replay
  std::string sha;
  std::string ref;
  Trigger trigger = Trigger::webhook;
  QueueState state = QueueState::queued;
  std::string reason;  // the error of a failed run, why an entry was superseded or stale
  Time created_at{};
  Time updated_at{};
  int attempt = 1;                      // 1, then 2, 3, ... for automatic retries
  std::optional<Time> next_attempt_at;  // while retrying
  std::optional<Time> checks_deadline;  // once it waited for checks: when the wait gives up
};

/// One recorded step of a run.
struct Step {
  int index = 0;
  std::string name;
  StepOutcome outcome = StepOutcome::succeeded;
  std::optional<int> exit_code;  // absent when the step did not exit (skipped, killed on timeout)
  std::chrono::milliseconds duration{0};
  Time recorded_at{};
};

/// One deploy run (or a superseded/stale decision recorded with mark()).
struct Run {
  RunId id = 0;
  std::string deployment;
  std::string entry_name;
  std::optional<DeliveryKey> delivery;
  std::optional<Trigger> trigger;  // copied from the queue item when the run started
  std::string sha;
  std::string ref;
  std::optional<std::string> previous_sha;  // what was deployed before this run
  Time started_at{};
  std::optional<Time> finished_at;    // absent while running (or if the deployer died)
  std::optional<RunOutcome> outcome;  // absent while running
  std::string error;
  std::vector<Step> steps;  // filled by delivery_story() and steps(); empty in history()
};

/// What `deployctl status` shows for one deployment.
struct DeploymentHistory {
  std::string deployment;
  std::optional<Run> last_success;
  std::optional<Run> last_failure;
  std::optional<Run> last_skipped;  // path filters, [skip deploy]
  std::vector<Run> recent;          // newest first
};

/// Everything the ledger knows about one delivery id, oldest first in each list.
struct DeliveryStory {
  std::string delivery_id;
  std::vector<DeliveryRecord> receipts;  // one per inbox entry (redeliveries included)
  std::vector<QueueItem> items;          // one per (deployment, entry) it was routed to
  std::vector<Run> runs;                 // with their steps
};

}  // namespace ledger
