// views.hpp: what the dashboard reads from the ledger: a deployment's runs page by page, one run
// with its steps, and the aggregates behind /metrics. Read-only; each call is one read-only
// snapshot (so a page's count agrees with its rows).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ledger/types.hpp"

namespace ledger {

/// One page of a deployment's runs, newest first.
struct RunPage {
  std::vector<Run> runs;   ///< without steps
  std::int64_t total = 0;  ///< runs of the deployment in all
};

/// The upper bounds (seconds) of the deploy duration histogram's buckets (+Inf is implied).
const std::vector<double>& duration_buckets();

/// A deployment's finished runs that ran steps (succeeded or failed), by duration.
struct DurationHistogram {
  std::vector<std::uint64_t>
      counts;  ///< per bucket of duration_buckets(), then +Inf; not cumulative
  double sum_seconds = 0;
};

/// The ledger's side of /metrics.
struct RunStatistics {
  /// deployment -> outcome text ("succeeded", ...) -> runs.
  std::map<std::string, std::map<std::string, std::uint64_t>> outcomes;
  std::map<std::string, DurationHistogram> durations;
  /// deployment -> finish time of its newest successful run.
  std::map<std::string, Time> last_success;
  /// deployment -> operator runs of a commit that had succeeded before, replacing another one.
  std::map<std::string, std::uint64_t> rollbacks;
};

}  // namespace ledger
