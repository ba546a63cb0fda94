// snapshot.hpp: everything a page shows, read from the state directory and the ledger at the
// moment of the request. Gathering only reads; the pages (pages.hpp) are pure functions of these
// values. A ledger that cannot be reached leaves the ledger's parts empty with a note: the
// dashboard is most needed when something is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/ledger/rollouts.hpp"
#include "common/ledger/types.hpp"
#include "deployctl/kept_releases.hpp"
#include "deployctl/status_report.hpp"

namespace dashboard {

/// The end of a log file, whole lines.
struct LogTail {
  std::string text;
  bool cut = false;  ///< earlier lines were left out
};

struct Overview {
  deployctl::StatusReport report;
  std::map<std::string, LogTail> running_logs;  ///< deployment -> its active entry's log tail
  /// sha -> the first line of its commit message, where an entry file still tells it.
  std::map<std::string, std::string> messages;
};

/// A failed entry with the report the deployer wrote beside it.
struct FailedEntry {
  std::string deployment;
  std::string entry;
  std::string reason;  ///< the report's "stage: reason", or why it cannot be read
  std::string sha;
};

/// A quarantined file (an odd name in failed/<deployment>/, or anything in rejected/).
struct Quarantined {
  std::string folder;  ///< "failed/app" or "rejected"
  std::string name;
  std::string reason;  ///< its .reason file (first 2 KB)
};

struct Failures {
  std::vector<FailedEntry> failed;
  std::vector<Quarantined> quarantined;
};

struct DeploymentView {
  deployctl::DeploymentStatus status;
  bool ledger_reachable = false;
  std::string ledger_note;
  std::vector<ledger::Run> runs;  ///< this page, newest first (this host's ledger name)
  /// On several hosts: the newest rollouts (up to 10), newest first.
  std::vector<ledger::Rollout> rollouts;
  std::int64_t total_runs = 0;
  std::size_t page = 0;  ///< 0-based
  std::size_t page_size = 25;
  std::map<std::string, std::string> messages;  ///< sha -> commit message (first line)
  std::vector<FailedEntry> failed;
  /// Release mode only: the kept releases, or why they cannot be read.
  std::optional<deployctl::KeptReleases> releases;
  std::string releases_note;
};

struct RunView {
  ledger::Run run;  ///< with steps
  std::string message;
  std::string log;             ///< the whole log (up to kMaxLogBytes: then its end)
  std::uint64_t log_size = 0;  ///< bytes in the file: where live follow starts
  bool log_cut = false;
  bool log_missing = false;
};

/// Upper bound of the log a run page embeds; a longer log shows its end.
inline constexpr std::uint64_t kMaxLogBytes = 4 << 20;

/// A run's log chunk for live follow.
struct LogChunk {
  std::string data;  ///< whole lines only
  std::uint64_t next_offset = 0;
  bool finished = false;  ///< the run is over and everything was read
  std::string outcome;    ///< when finished
};

class Snapshots {
 public:
  explicit Snapshots(const common::Config& config) : config_(config) {}

  Overview overview() const;
  Failures failures() const;
  /// nullopt for an unknown deployment.
  std::optional<DeploymentView> deployment(const std::string& name, std::size_t page) const;
  /// nullopt for an unknown run; throws when the ledger cannot be reached.
  std::optional<RunView> run(ledger::RunId id) const;
  /// What follows `offset` in the run's log (at most 64 KB, whole lines).
  LogChunk follow(ledger::RunId id, std::uint64_t offset) const;

  const common::Config& config() const { return config_; }

 private:
  const common::Config& config_;
};

}  // namespace dashboard
