// status_report.hpp: what `deployctl status` shows, gathered from the state directory's folders
// and, when it can be reached, the ledger.
//
// The folders are the truth about what is waiting (queues/, active/, failed/, inbox/, rejected/)
// and are always read; the ledger adds the last success and the last failure of each deployment
// and when the active run started. When the ledger cannot be used (DATABASE_URL unset, the
// server down, the schema behind) the report still has everything the folders say, and
// `database.note` says why the rest is missing. Gathering changes nothing anywhere.
//
// The JSON form (to_json) has stable keys, documented in docs/operations.md ("deployctl status").
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/ledger/rollouts.hpp"
#include "common/ledger/types.hpp"

namespace deployctl {

using Time = std::chrono::system_clock::time_point;

struct ActiveEntry {
  std::string entry;
  std::string sha;  ///< empty when the entry cannot be read as a push
  std::string ref;
  /// When its run started (the ledger), else when it was moved into active/ (the file's ctime).
  std::optional<Time> since;
  std::optional<ledger::RunId> run_id;  ///< its unfinished run in the ledger, when reachable
  /// The ledger's state of its queue item ("running", "waiting" for checks, "retrying" after a
  /// transient failure); empty when the ledger is not reachable.
  std::string state;
  std::string reason;  ///< waiting: "waiting for checks: a, b"; retrying: the last error
  int attempt = 1;     ///< 2, 3, ... after automatic retries
  std::optional<Time> next_attempt_at;  ///< retrying: when the next attempt runs
  std::optional<Time> checks_deadline;  ///< waiting: when the wait for checks gives up
};

/// A release-mode deployment's releases, read from its folders (common/release_layout.hpp).
struct ReleaseStatus {
  std::optional<std::string> live;  ///< the release `current` names; absent before the first
  std::string commit;               ///< the live release's REVISION, empty when none
  std::size_t kept = 0;             ///< complete release folders
};

/// One host of a deployment on several hosts (docs/hosts.md), from the ledger under that host's
/// ledger name (common::ledger_name): what it runs and how its last run went. Its folders are on
/// its own machine, so only the ledger tells.
struct HostStatus {
  std::string name;
  std::string ledger_name;
  bool this_host = false;                   ///< the host deployctl runs as (config.host)
  std::optional<ledger::Run> last_run;      ///< its newest run, whatever its outcome
  std::optional<ledger::Run> last_success;  ///< its sha is the host's deployed commit
  /// The release of last_success (the releases table), when the deployment is in release mode.
  std::optional<std::string> live_release;
};

struct DeploymentStatus {
  std::string name;
  /// The name the ledger keeps this host's records under (common::ledger_name): every ledger
  /// part of this struct except `hosts` and `rollout` is read under it.
  std::string ledger_name;
  std::string repository;
  std::string branch;
  bool enabled = true;
  std::vector<std::string> queued;         ///< canonical entries in queues/<name>/, oldest first
  std::vector<std::string> queue_strays;   ///< other *.json there (the deployer sets them aside)
  std::optional<ActiveEntry> active;       ///< the oldest entry in active/<name>/
  std::vector<std::string> failed;         ///< canonical entries in failed/<name>/ (retryable)
  std::vector<std::string> failed_strays;  ///< quarantined odd names in failed/<name>/
  std::size_t done = 0;                    ///< entries in done/<name>/
  std::optional<ReleaseStatus> releases;   ///< release mode only
  std::optional<ledger::Run> last_success;
  std::optional<ledger::Run> last_failure;
  std::optional<ledger::Run> last_skipped;  ///< a push not deployed by the path filters
  std::vector<ledger::Run> recent;  ///< the newest runs (up to 5), newest first; not in to_json
  /// On several hosts only (empty on one): every host of the deployment, in `hosts` order.
  std::vector<HostStatus> hosts;
  /// On several hosts only: the newest rollout (ledger::Rollouts::recent), when there is one.
  std::optional<ledger::Rollout> rollout;
};

struct StatusReport {
  std::string instance;
  std::string host;  ///< the host deployctl runs as (config.host)
  std::string state_dir;
  Time generated_at{};
  bool database_reachable = false;
  std::string database_note;       ///< why the ledger's part is missing; empty when reachable
  std::size_t inbox = 0;           ///< entries waiting for the router
  std::size_t rejected = 0;        ///< files in rejected/ (their .reason sidecars not counted)
  std::vector<std::string> notes;  ///< folders that could not be read, and similar
  std::vector<DeploymentStatus> deployments;  ///< in the configuration's (name) order
};

/// Reads the folders and the ledger (see the file comment). Never throws for a missing folder
/// or an unreachable database; those become notes.
StatusReport gather_status(const common::Config& config);

/// The stable JSON form.
nlohmann::json to_json(const StatusReport& report);

/// The human form, several lines per deployment, ending with the notes.
std::string to_text(const StatusReport& report);

/// "rollout of abc1234: failed on web2 (health check ...): web1 rolled_back, web2 failed, web3
/// not_switched": one line for people (a host not joined yet shows as "waiting").
std::string rollout_line(const ledger::Rollout& rollout);

/// "42s", "3m05s", "2h07m", "3d04h": a duration for people.
std::string human_duration(std::chrono::seconds duration);

}  // namespace deployctl
