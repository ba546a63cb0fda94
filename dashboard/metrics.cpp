// metrics.cpp: gathering and rendering /metrics (metrics.hpp).
#include "dashboard/metrics.hpp"

#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "common/ledger/ledger.hpp"
#include "common/secrets.hpp"
#include "common/status_counters.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/scan.hpp"

namespace dashboard {
namespace {

double seconds_since_epoch(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

}  // namespace

MetricsSnapshot gather_metrics(const common::Config& config) {
  MetricsSnapshot snapshot;
  snapshot.report = deployctl::gather_status(config);
  snapshot.now = std::chrono::system_clock::now();
  if (snapshot.report.database_reachable) {
    try {
      ledger::Ledger ledger(common::database_url(config));
      snapshot.statistics = ledger.statistics();
    } catch (const std::exception&) {
      // Down between the two calls: reported as deploy_ledger_up 0.
    }
  }
  snapshot.webhooks =
      common::StatusCounters::read(common::receiver_counters_file(config.state_dir));
  const queue_layout::Layout layout(config.state_dir);
  for (const auto& d : snapshot.report.deployments) {
    queue_layout::Listing outbox;
    queue_layout::list_entries(layout.outbox(d.name), outbox);  // none yet: an empty listing
    snapshot.notifications_pending[d.name] = outbox.entries.size();
  }
  return snapshot;
}

std::string render_metrics(const MetricsSnapshot& snapshot) {
  using namespace prometheus;
  Registry registry;
  auto& entries = BuildGauge()
                      .Name("deploy_entries")
                      .Help("Entries in each folder of the state directory")
                      .Register(registry);
  auto& oldest = BuildGauge()
                     .Name("deploy_oldest_waiting_seconds")
                     .Help("Age of the oldest entry waiting in a deployment's queue (0: none)")
                     .Register(registry);
  auto& runs = BuildCounter()
                   .Name("deploy_runs_total")
                   .Help("Deploy runs recorded in the ledger, by outcome")
                   .Register(registry);
  auto& durations = BuildHistogram()
                        .Name("deploy_duration_seconds")
                        .Help("Duration of succeeded and failed deploy runs")
                        .Register(registry);
  auto& last_success = BuildGauge()
                           .Name("deploy_last_success_timestamp_seconds")
                           .Help("When the newest successful run of a deployment finished")
                           .Register(registry);
  auto& rollbacks =
      BuildCounter()
          .Name("deploy_rollbacks_total")
          .Help("Operator runs of a commit that was live before the one they replaced")
          .Register(registry);
  auto& ledger_up = BuildGauge()
                        .Name("deploy_ledger_up")
                        .Help("1 when the ledger answered this scrape")
                        .Register(registry);
  auto& notifications = BuildGauge()
                            .Name("deploy_notifications_pending")
                            .Help("Notifications waiting in a deployment's outbox to be sent")
                            .Register(registry);
  auto& checks_waiting = BuildGauge()
                             .Name("deploy_checks_waiting")
                             .Help("1 while a deployment's push waits for its commit's checks")
                             .Register(registry);
  auto& webhooks = BuildCounter()
                       .Name("deploy_webhooks_received_total")
                       .Help("Webhook requests the receiver answered, by HTTP status")
                       .Register(registry);

  const auto& report = snapshot.report;
  entries.Add({{"folder", "inbox"}}).Set(static_cast<double>(report.inbox));
  entries.Add({{"folder", "rejected"}}).Set(static_cast<double>(report.rejected));
  const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(snapshot.now.time_since_epoch()).count();
  for (const auto& d : report.deployments) {
    const auto add = [&](const char* folder, std::size_t n) {
      entries.Add({{"folder", folder}, {"deployment", d.name}}).Set(static_cast<double>(n));
    };
    add("queue", d.queued.size());
    add("active", d.active ? 1 : 0);
    add("failed", d.failed.size() + d.failed_strays.size());
    add("done", d.done);
    double age = 0;
    if (!d.queued.empty()) {
      const auto stamp = static_cast<std::int64_t>(queue_layout::entry_timestamp(d.queued.front()));
      if (stamp > 0 && stamp < now_ns) age = static_cast<double>(now_ns - stamp) / 1e9;
    }
    oldest.Add({{"deployment", d.name}}).Set(age);
    checks_waiting.Add({{"deployment", d.name}})
        .Set(d.active && d.active->state == "waiting" ? 1 : 0);
  }
  ledger_up.Add({}).Set(snapshot.statistics ? 1 : 0);
  if (snapshot.statistics) {
    const auto& stats = *snapshot.statistics;
    for (const auto& d : report.deployments) {
      // Every outcome of every deployment, zeros included, so rate() sees the first failure.
      for (const char* outcome : {"succeeded", "failed", "superseded", "stale", "interrupted"}) {
        double n = 0;
        if (const auto it = stats.outcomes.find(d.ledger_name); it != stats.outcomes.end()) {
          if (const auto o = it->second.find(outcome); o != it->second.end()) {
            n = static_cast<double>(o->second);
          }
        }
        runs.Add({{"deployment", d.name}, {"outcome", outcome}}).Increment(n);
      }
      auto& histogram = durations.Add({{"deployment", d.name}},
                                      Histogram::BucketBoundaries(ledger::duration_buckets()));
      if (const auto it = stats.durations.find(d.ledger_name); it != stats.durations.end()) {
        std::vector<double> increments(it->second.counts.begin(), it->second.counts.end());
        histogram.ObserveMultiple(increments, it->second.sum_seconds);
      }
      if (const auto it = stats.last_success.find(d.ledger_name); it != stats.last_success.end()) {
        last_success.Add({{"deployment", d.name}}).Set(seconds_since_epoch(it->second));
      }
      double rolled_back = 0;
      if (const auto it = stats.rollbacks.find(d.ledger_name); it != stats.rollbacks.end()) {
        rolled_back = static_cast<double>(it->second);
      }
      rollbacks.Add({{"deployment", d.name}}).Increment(rolled_back);
    }
  }
  for (const auto& [deployment, n] : snapshot.notifications_pending) {
    notifications.Add({{"deployment", deployment}}).Set(static_cast<double>(n));
  }
  for (const auto& [status, n] : snapshot.webhooks) {
    webhooks.Add({{"status", std::to_string(status)}}).Increment(static_cast<double>(n));
  }
  std::ostringstream out;
  TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace dashboard
