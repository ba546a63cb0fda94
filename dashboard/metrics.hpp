// metrics.hpp: the Prometheus text served at GET /metrics (behind dashboard.metrics_token).
//
// gather_metrics() reads the folders (deployctl's status report), the ledger's aggregates and the
// receiver's counters file at the moment of the scrape; render_metrics() is a pure function of
// that snapshot, built with prometheus-cpp's registry and text serializer. Names (all prefixed
// "deploy_"; docs/dashboard.md lists them with their labels):
//   deploy_entries{folder, deployment}          entries per folder (inbox and rejected: no
//                                               deployment)
//   deploy_oldest_waiting_seconds{deployment}   age of the oldest queued entry (0 when none)
//   deploy_runs_total{deployment, outcome}      runs by outcome (ledger)
//   deploy_duration_seconds{deployment}         histogram of succeeded and failed runs (ledger)
//   deploy_last_success_timestamp_seconds{deployment}
//   deploy_rollbacks_total{deployment}          operator runs of a commit older than the one live
//   deploy_ledger_up                            1 when the ledger answered this scrape
//   deploy_webhooks_received_total{status}      the receiver's answers by HTTP status
//   deploy_notifications_pending{deployment}    notifications in outbox/<deployment>/ not yet sent
//   deploy_checks_waiting{deployment}           1 while the active push waits for its checks
//                                               (the queue item's state, so 0 without the ledger)
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "common/config.hpp"
#include "common/ledger/views.hpp"
#include "deployctl/status_report.hpp"

namespace dashboard {

struct MetricsSnapshot {
  deployctl::StatusReport report;
  std::optional<ledger::RunStatistics> statistics;           ///< absent when the ledger is down
  std::map<unsigned, std::uint64_t> webhooks;                ///< HTTP status -> answers
  std::map<std::string, std::size_t> notifications_pending;  ///< deployment -> outbox files
  std::chrono::system_clock::time_point now{};
};

MetricsSnapshot gather_metrics(const common::Config& config);

/// The Prometheus text exposition format (version 0.0.4).
std::string render_metrics(const MetricsSnapshot& snapshot);

}  // namespace dashboard
