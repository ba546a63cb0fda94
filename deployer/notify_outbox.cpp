// notify_outbox.cpp: see notify_outbox.hpp.
#include "deployer/notify_outbox.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <map>
#include <optional>
#include <set>

#include "common/backoff.hpp"
#include "common/http_client.hpp"
#include "common/json_parse.hpp"
#include "common/log.hpp"
#include "common/small_file.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/move.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/recover.hpp"
#include "queue-layout/scan.hpp"
#include "queue-layout/watch.hpp"

namespace deployer {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxOutboxFile = 1 << 20;
constexpr auto kAttemptTimeout = std::chrono::seconds(10);
// How long the drain sleeps with nothing due: the Watcher wakes it sooner for a new file.
constexpr auto kIdle = std::chrono::seconds(30);

const common::Notification* find_notification(const common::Config& config,
                                              const std::string& name) {
  for (const auto& notification : config.notify) {
    if (notification.name == name) return &notification;
  }
  return nullptr;
}

// One notification's retry state: when it may be tried next, and the pause after a failure.
struct Retry {
  SteadyClock::time_point next{};
  common::Backoff backoff{std::chrono::seconds(1), std::chrono::seconds(60)};
  int failures = 0;
};

}  // namespace

std::filesystem::path outbox_dir(const common::Config& config, const std::string& deployment) {
  return queue_layout::Layout(config.state_dir).outbox(deployment);
}

std::size_t enqueue_notifications(const common::Config& config,
                                  const common::NotificationMessage& message) {
  // One clock per process: names from this deployer never go backwards.
  static queue_layout::NameClock clock;
  std::size_t written = 0;
  for (const auto& notification : config.notify) {
    if (!common::notification_wants(notification, message.deployment, message.outcome)) continue;
    const nlohmann::json file = {{"notification", notification.name},
                                 {"body", common::render_notification(notification.type, message)}};
    const auto dir = outbox_dir(config, message.deployment);
    const std::string name = clock.next(notification.name);
    std::error_code ec = queue_layout::ensure_dir(dir);
    if (!ec) ec = queue_layout::publish(dir, name, file.dump() + "\n");
    if (ec) {
      common::log::error("cannot queue a notification: it is not sent",
                         {{"deployment", message.deployment},
                          {"notification", notification.name},
                          {"outcome", message.outcome},
                          {"dir", dir.string()},
                          {"error", ec.message()}});
      continue;
    }
    common::log::info("notification queued", {{"deployment", message.deployment},
                                              {"notification", notification.name},
                                              {"outcome", message.outcome},
                                              {"file", name}});
    ++written;
  }
  return written;
}

asio::awaitable<void> drain_outbox(const common::Config& config, std::string deployment,
                                   common::StopSignal& stop) {
  const auto dir = outbox_dir(config, deployment);
  if (auto ec = queue_layout::ensure_dir(dir)) {
    common::log::error(
        "cannot create the outbox: notifications are not sent",
        {{"deployment", deployment}, {"dir", dir.string()}, {"error", ec.message()}});
    co_return;
  }
  queue_layout::remove_stale_temporaries(dir);
  queue_layout::Watcher watcher(co_await asio::this_coro::executor, dir, kIdle);
  auto registration = stop.on_stop([&watcher] { watcher.cancel(); });
  std::map<std::string, Retry> retries;  // by notification name
  std::set<std::string> reported;        // files already logged as unusable
  try {
    while (!stop.requested()) {
      queue_layout::Listing listing;
      if (auto ec = queue_layout::list_entries(dir, listing)) {
        common::log::warn(
            "cannot list the outbox",
            {{"deployment", deployment}, {"dir", dir.string()}, {"error", ec.message()}});
      }
      std::optional<SteadyClock::time_point> next_due;
      for (const auto& name : listing.entries) {
        if (stop.requested()) break;
        auto text = common::read_small_file(dir / name, kMaxOutboxFile, "1 MiB");
        if (!text.ok()) continue;  // removed meanwhile, or unreadable: seen again next pass
        auto parsed = common::parse_json(*text);
        const nlohmann::json* file = parsed.ok() ? &parsed.value() : nullptr;
        const common::Notification* notification = nullptr;
        if (file != nullptr && file->is_object() && file->contains("notification") &&
            (*file)["notification"].is_string() && file->contains("body") &&
            (*file)["body"].is_string()) {
          notification = find_notification(config, (*file)["notification"].get<std::string>());
        }
        if (notification == nullptr) {
          if (reported.insert(name).second) {
            common::log::warn(
                "outbox file names no configured notification (or is malformed): left in place",
                {{"deployment", deployment}, {"file", (dir / name).string()}});
          }
          continue;
        }
        Retry& retry = retries[notification->name];
        if (retry.next > SteadyClock::now()) {
          if (!next_due || retry.next < *next_due) next_due = retry.next;
          continue;
        }
        const std::string body = (*file)["body"].get<std::string>();
        auto request = common::notification_request(*notification, body);
        common::Result<common::HttpResponse> reply = common::Error{""};
        if (!request.ok()) {
          reply = common::Error{request.error().message};
        } else {
          request->timeout = kAttemptTimeout;
          reply = co_await common::http_request(*request, stop);
        }
        if (stop.requested()) break;
        if (reply.ok() && reply->status >= 200 && reply->status < 300) {
          // Removed only after the 2xx, and the removal made durable, so a restart neither loses
          // the message nor (short of a crash in this very window) sends it twice.
          std::error_code ec;
          std::filesystem::remove(dir / name, ec);
          if (!ec) ec = queue_layout::fsync_dir(dir);
          if (ec) {
            common::log::warn(
                "notification sent but its outbox file not removed",
                {{"deployment", deployment}, {"file", name}, {"error", ec.message()}});
          }
          common::log::info("notification delivered", {{"deployment", deployment},
                                                       {"notification", notification->name},
                                                       {"file", name},
                                                       {"status", reply->status},
                                                       {"attempts", retry.failures + 1}});
          retry = Retry{};
          continue;
        }
        const std::string problem =
            reply.ok() ? "HTTP " + std::to_string(reply->status) : reply.error().message;
        ++retry.failures;
        const auto delay = retry.backoff.next();
        common::log::warn("notification not delivered: kept in the outbox, retrying",
                          {{"deployment", deployment},
                           {"notification", notification->name},
                           {"file", name},
                           {"attempt", retry.failures},
                           {"error", problem},
                           {"retry_in_ms", delay.count()}});
        retry.next = SteadyClock::now() + delay;
        if (!next_due || retry.next < *next_due) next_due = retry.next;
      }
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kIdle);
      if (next_due) {
        wait = std::clamp(
            std::chrono::duration_cast<std::chrono::milliseconds>(*next_due - SteadyClock::now()),
            std::chrono::milliseconds(0), wait);
      }
      co_await watcher.wait(wait);
    }
  } catch (const boost::system::system_error& e) {
    // The watcher's wait throws operation_aborted once cancelled by a shutdown.
    if (e.code() != asio::error::operation_aborted || !stop.requested()) throw;
  }
}

}  // namespace deployer
