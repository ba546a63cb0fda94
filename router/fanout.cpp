// fanout.cpp: see fanout.hpp.
#include "router/fanout.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "common/backoff.hpp"
#include "common/log.hpp"
#include "common/secrets.hpp"
#include "queue-layout/dir.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"

namespace router {
namespace {

using namespace std::chrono_literals;

// Items per transaction: enough to amortise a round trip, few enough that the row locks and the
// redone work after a crash stay small.
constexpr std::size_t kBatchSize = 64;
// How long one wait for a notification lasts before the stop request is looked at again.
constexpr auto listen_slice = 250ms;
// How often delivered items are pruned (and once at start).
constexpr auto prune_period = std::chrono::hours(1);

// The deployments this host takes fanned-out items for: enabled here, and on this host.
std::vector<std::string> local_deployments(const common::Config& config) {
  std::vector<std::string> names;
  for (const auto& [name, deployment] : config.deployments) {
    if (deployment.enabled && deployment.runs_on(config.host)) names.push_back(name);
  }
  return names;
}

std::error_code fsync_dir(const std::filesystem::path& dir) {
  queue_layout::UniqueFd fd;
  if (auto ec = queue_layout::open_dir(dir, fd, queue_layout::real_fs())) return ec;
  return queue_layout::real_fs().fsync(fd.get());
}

}  // namespace

bool uses_fanout(const common::Config& config) {
  return std::any_of(config.deployments.begin(), config.deployments.end(),
                     [](const auto& entry) { return entry.second.hosts_set; });
}

std::string publish_item(const queue_layout::Layout& layout, const ledger::FanoutItem& item) {
  // The ledger's CHECK constraints say the same; these become paths, so they are checked here too.
  if (!queue_layout::is_entry_name(item.entry_name)) {
    return "fan-out item " + std::to_string(item.id) + " has no entry name";
  }
  if (!queue_layout::is_safe_deployment_name(item.deployment)) {
    return "fan-out item " + std::to_string(item.id) + " has an invalid deployment name";
  }
  // In the order an entry travels: a move links into the next folder before it unlinks from the
  // previous one, so an entry the deployer moves while we look is found in a later folder.
  for (const auto& folder : layout.entry_folders(item.deployment)) {
    if (!queue_layout::exists(folder, item.entry_name)) continue;
    if (const auto ec = fsync_dir(folder)) return folder.string() + ": " + ec.message();
    return "";
  }
  const auto queue = layout.queue(item.deployment);
  const auto ec = queue_layout::publish(queue, item.entry_name, item.content);
  // EEXIST: it appeared since the look above (another router of this host): it is there.
  if (ec && ec != std::errc::file_exists) {
    return (queue / item.entry_name).string() + ": " + queue_layout::describe(ec);
  }
  return "";
}

FanoutPuller::FanoutPuller(const common::Config& config, const queue_layout::Layout& layout)
    : config_(config), layout_(layout), thread_([this](std::stop_token stop) { run(stop); }) {}

FanoutPuller::~FanoutPuller() {
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FanoutPuller::run(std::stop_token stop) {
  const auto deployments = local_deployments(config_);
  std::string url;
  try {
    url = common::database_url(config_);
  } catch (const std::exception& e) {
    // The router's own start-up has read it already; nothing else to do without it.
    common::log::error("fan-out not started: no database URL", {{"error", e.what()}});
    return;
  }
  common::log::info("fan-out started", {{"host", config_.host}});
  const auto poll = std::chrono::duration_cast<std::chrono::milliseconds>(config_.router.rescan());
  common::Backoff backoff{100ms, 5s};
  try {
    ledger::Fanout fanout(url);
    ledger::Listener listener(url, config_.host);
    const auto publish = [this](const ledger::FanoutItem& item) {
      auto error = publish_item(layout_, item);
      if (error.empty()) {
        common::log::info("fanned-out entry queued", {{"deployment", item.deployment},
                                                      {"entry", item.entry_name},
                                                      {"from_host", item.origin_host}});
      }
      return error;
    };
    while (!stop.stop_requested()) {
      // 1. Everything waiting for this host, batch after batch.
      bool failed = false;
      try {
        for (;;) {
          const auto done = fanout.deliver(config_.host, deployments, kBatchSize, publish);
          if (!done.failure.empty()) {
            paused("cannot queue a fanned-out entry", done.failure);
            failed = true;
            break;
          }
          if (done.taken < kBatchSize || stop.stop_requested()) break;
        }
      } catch (const ledger::Unavailable& e) {
        paused("ledger unavailable", e.what());
        failed = true;
      }
      if (failed) {
        if (!sleep(stop, backoff.next())) break;
        continue;
      }
      resumed();
      backoff.reset();
      prune(fanout, stop);
      // 2. Until a notification for this host, or the poll period has passed.
      const auto deadline = std::chrono::steady_clock::now() + poll;
      while (!stop.stop_requested() && std::chrono::steady_clock::now() < deadline) {
        try {
          if (listener.wait(listen_slice)) break;
        } catch (const ledger::Unavailable& e) {
          // Polling goes on; the listener connects again on its next wait.
          common::log::debug("fan-out listener down", {{"error", e.what()}});
          if (!sleep(stop, std::min<std::chrono::milliseconds>(backoff.next(), poll))) break;
        }
      }
    }
  } catch (const std::exception& e) {
    // A ledger::Error (a bug or a broken database). The main loop stops on the same errors and
    // PM2 restarts the router; from this thread the exit is abrupt, which every step of the
    // router is built to survive (it is what kill -9 does).
    common::log::error("fan-out failed, the router exits", {{"error", e.what()}});
    std::_Exit(1);
  }
  common::log::info("fan-out stopped");
}

void FanoutPuller::prune(ledger::Fanout& fanout, std::stop_token& stop) {
  const auto now = std::chrono::steady_clock::now();
  if (pruned_ && now - *pruned_ < prune_period) return;
  if (stop.stop_requested()) return;
  // Delivered items hold whole entries: kept as long as done/ keeps its entries, then deleted
  // (a failure is only logged: the next period tries again).
  try {
    const auto removed = fanout.prune(config_.host, config_.retention.done_max_age());
    if (removed > 0) {
      common::log::info("delivered fan-out items pruned",
                        {{"count", removed}, {"days", config_.retention.done_max_age_days}});
    }
    pruned_ = now;
  } catch (const ledger::Unavailable& e) {
    common::log::debug("cannot prune fan-out items", {{"error", e.what()}});
  }
}

bool FanoutPuller::sleep(std::stop_token& stop, std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, stop, delay, [] { return false; });
  return !stop.stop_requested();
}

void FanoutPuller::paused(const std::string& why, const std::string& error) {
  if (pause_reason_ == why) return;  // one line per state change, not one per retry
  pause_reason_ = why;
  common::log::warn("fan-out paused, items wait in the ledger", {{"cause", why}, {"error", error}});
}

void FanoutPuller::resumed() {
  if (pause_reason_.empty()) return;
  common::log::info("fan-out resumed", {{"after", pause_reason_}});
  pause_reason_.clear();
}

}  // namespace router
