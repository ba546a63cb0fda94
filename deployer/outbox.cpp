// outbox.cpp: see outbox.hpp.
#include "deployer/outbox.hpp"

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
#include "common/outbox.hpp"
#include "common/small_file.hpp"
#include "deployer/github_outbox.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/move.hpp"
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
// The channel of GitHub items: '@' is not allowed in a notification name.
const std::string kGitHubChannel = "@github";

const common::Notification* find_notification(const common::Config& config,
                                              const std::string& name) {
  for (const auto& notification : config.notify) {
    if (notification.name == name) return &notification;
  }
  return nullptr;
}

// One channel's retry state: when it may be tried next, and the pause after a failure.
struct Retry {
  SteadyClock::time_point next{};
  common::Backoff backoff{std::chrono::seconds(1), std::chrono::seconds(60)};
  int failures = 0;
};

// What a file is: a GitHub item, or a notification that is configured (else nothing).
struct Parsed {
  nlohmann::json file;
  const common::Notification* notification = nullptr;
  bool github = false;
  std::string channel() const { return github ? kGitHubChannel : notification->name; }
};

std::optional<Parsed> parse_outbox_file(const common::Config& config, const std::string& text) {
  auto parsed = common::parse_json(text);
  if (!parsed.ok()) return std::nullopt;
  Parsed out;
  out.file = std::move(parsed.value());
  if (is_github_item(out.file)) {
    out.github = true;
    return out;
  }
  const auto& file = out.file;
  if (file.is_object() && file.contains("notification") && file["notification"].is_string() &&
      file.contains("body") && file["body"].is_string()) {
    out.notification = find_notification(config, file["notification"].get<std::string>());
  }
  if (out.notification == nullptr) return std::nullopt;
  return out;
}

asio::awaitable<Attempt> send_notification(const common::Notification& notification,
                                           const std::string& body, common::StopSignal& stop) {
  Attempt attempt;
  auto request = common::notification_request(notification, body);
  if (!request.ok()) {
    attempt.problem = request.error().message;
    co_return attempt;
  }
  request->timeout = kAttemptTimeout;
  auto reply = co_await common::http_request(*request, stop);
  if (!reply.ok()) {
    attempt.problem = reply.error().message;
    co_return attempt;
  }
  attempt.status = reply->status;
  if (reply->status >= 200 && reply->status < 300) {
    attempt.outcome = Attempt::Outcome::delivered;
  } else {
    attempt.problem = "HTTP " + std::to_string(reply->status);  // kept and retried: any answer
  }
  co_return attempt;
}

// Removes a file that is done with, durably: a restart must not send it again.
void remove_file(const std::filesystem::path& dir, const std::string& name,
                 const std::string& deployment) {
  std::error_code ec;
  std::filesystem::remove(dir / name, ec);
  if (!ec) ec = queue_layout::fsync_dir(dir);
  if (ec) {
    common::log::warn("outbox file sent but not removed",
                      {{"deployment", deployment}, {"file", name}, {"error", ec.message()}});
  }
}

}  // namespace

std::size_t enqueue_notifications(const common::Config& config,
                                  const common::NotificationMessage& message) {
  std::size_t written = 0;
  for (const auto& notification : config.notify) {
    if (!common::notification_wants(notification, message.deployment, message.outcome)) continue;
    const nlohmann::json file = {{"notification", notification.name},
                                 {"body", common::render_notification(notification.type, message)}};
    const std::string name = common::next_outbox_name(notification.name);
    if (auto ec = common::publish_outbox_item(config, message.deployment, name, file)) {
      common::log::error("cannot queue a notification: it is not sent",
                         {{"deployment", message.deployment},
                          {"notification", notification.name},
                          {"outcome", message.outcome},
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
  const auto dir = common::outbox_dir(config, deployment);
  if (auto ec = queue_layout::ensure_dir(dir)) {
    common::log::error(
        "cannot create the outbox: notifications and GitHub statuses are not sent",
        {{"deployment", deployment}, {"folder", dir.string()}, {"error", ec.message()}});
    co_return;
  }
  queue_layout::remove_stale_temporaries(dir);
  queue_layout::remove_stale_temporaries(common::github_ids_dir(dir));
  // The ids of deploys older than done/'s retention are not needed any more.
  common::prune_github_ids(dir, config.retention.done_max_age());
  queue_layout::Watcher watcher(co_await asio::this_coro::executor, dir, kIdle);
  auto registration = stop.on_stop([&watcher] { watcher.cancel(); });
  std::map<std::string, Retry> retries;  // by channel
  std::set<std::string> reported;        // files already logged as unusable
  try {
    while (!stop.requested()) {
      queue_layout::Listing listing;
      if (auto ec = queue_layout::list_entries(dir, listing)) {
        common::log::warn(
            "cannot list the outbox",
            {{"deployment", deployment}, {"folder", dir.string()}, {"error", ec.message()}});
      }
      std::optional<SteadyClock::time_point> next_due;
      for (const auto& name : listing.entries) {
        if (stop.requested()) break;
        auto text = common::read_small_file(dir / name, kMaxOutboxFile, "1 MiB");
        if (!text.ok()) continue;  // removed meanwhile, or unreadable: seen again next pass
        auto parsed = parse_outbox_file(config, *text);
        if (!parsed) {
          if (reported.insert(name).second) {
            common::log::warn(
                "outbox file names no configured notification (or is malformed): left in place",
                {{"deployment", deployment}, {"file", (dir / name).string()}});
          }
          continue;
        }
        const std::string channel = parsed->channel();
        Retry& retry = retries[channel];
        if (retry.next > SteadyClock::now()) {
          if (!next_due || retry.next < *next_due) next_due = retry.next;
          continue;
        }
        // Not a conditional expression: GCC 12 mishandles co_await inside one.
        Attempt attempt;
        if (parsed->github) {
          attempt = co_await send_github_item(config, dir, parsed->file, stop);
        } else {
          const std::string body = parsed->file["body"].get<std::string>();
          attempt = co_await send_notification(*parsed->notification, body, stop);
        }
        if (stop.requested()) break;
        if (attempt.outcome == Attempt::Outcome::delivered) {
          // Removed only after the delivery, and the removal made durable, so a restart neither
          // loses the request nor (short of a crash in this very window) sends it twice.
          remove_file(dir, name, deployment);
          common::log::info(
              parsed->github ? "GitHub deployment status posted" : "notification delivered",
              {{"deployment", deployment},
               {"channel", channel},
               {"file", name},
               {"status", attempt.status},
               {"attempts", retry.failures + 1}});
          retry = Retry{};
          continue;
        }
        if (attempt.outcome == Attempt::Outcome::dropped) {
          remove_file(dir, name, deployment);
          common::log::error("GitHub refused a deployment request: dropped",
                             {{"deployment", deployment},
                              {"channel", channel},
                              {"file", name},
                              {"request", parsed->file.dump()},
                              {"error", attempt.problem}});
          retry = Retry{};
          continue;
        }
        ++retry.failures;
        const auto delay = retry.backoff.next();
        common::log::warn(parsed->github
                              ? "GitHub deployment status not posted: kept in the outbox, retrying"
                              : "notification not delivered: kept in the outbox, retrying",
                          {{"deployment", deployment},
                           {"channel", channel},
                           {"file", name},
                           {"attempt", retry.failures},
                           {"error", attempt.problem},
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
