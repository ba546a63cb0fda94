// router.cpp: the event loop of router.hpp (one Asio io_context, one coroutine).
#include "router/router.hpp"

#include <algorithm>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/backoff.hpp"
#include "common/ledger/ledger.hpp"
#include "common/log.hpp"
#include "common/secrets.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/recover.hpp"
#include "queue-layout/scan.hpp"
#include "queue-layout/watch.hpp"
#include "router/fanout.hpp"
#include "router/handle.hpp"

namespace router {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Entries handled per group commit (one fsync per touched queue folder and one of the inbox):
// large enough to amortise the fsyncs over a backlog, small enough that a crash redoes little.
constexpr std::size_t kBatchSize = 256;

std::vector<std::string> deployment_names(const common::Config& config) {
  std::vector<std::string> names;
  for (const auto& [name, deployment] : config.deployments) names.push_back(name);
  return names;
}

std::string enabled_names(const common::Config& config) {
  std::string out;
  for (const auto& [name, d] : config.deployments) {
    if (d.enabled) out += (out.empty() ? "" : ",") + name;
  }
  return out.empty() ? "-" : out;
}

class Loop {
 public:
  Loop(const common::Config& config, asio::io_context& io)
      : config_(config),
        layout_(config.state_dir),
        ledger_(common::database_url(config)),
        fanout_(uses_fanout(config) ? std::make_unique<ledger::Fanout>(common::database_url(config))
                                    : nullptr),
        handler_(config, layout_, ledger_, fanout_.get()),
        timer_(io) {}

  asio::awaitable<void> run();

  /// From the signal handler: finish the entry at hand, then leave run().
  void stop() {
    stopping_ = true;
    timer_.cancel();
    if (watcher_ != nullptr) watcher_->cancel();
  }

 private:
  asio::awaitable<bool> check_schema();
  asio::awaitable<void> route_inbox(queue_layout::Watcher& watcher);
  asio::awaitable<std::optional<Handled>> handle_retrying(const std::string& name);
  /// Handler::flush(); on failure waits with backoff and returns false (the batch's entries
  /// stay in the inbox and are handled again at the next listing).
  asio::awaitable<bool> flush_or_wait();
  /// Waits `delay`; false when a stop was requested meanwhile.
  asio::awaitable<bool> sleep(std::chrono::milliseconds delay);
  void paused(const std::string& why, const std::string& error, const std::string& entry);
  void resumed();

  const common::Config& config_;
  queue_layout::Layout layout_;
  ledger::Ledger ledger_;
  std::unique_ptr<ledger::Fanout> fanout_;  // only when a deployment has "hosts"
  Handler handler_;
  std::optional<FanoutPuller> puller_;  // started once the schema is known to be current
  asio::steady_timer timer_;
  queue_layout::Watcher* watcher_ = nullptr;
  // 100 ms doubling to 5 s: a restarted PostgreSQL is noticed within 5 s.
  common::Backoff backoff_{std::chrono::milliseconds(100), std::chrono::seconds(5)};
  std::string pause_reason_;  // empty while routing runs
  bool stopping_ = false;
};

asio::awaitable<void> Loop::run() {
  if (!co_await check_schema()) co_return;
  // This host's share of other hosts' routing (router/fanout.hpp); stopped with the Loop.
  if (fanout_) puller_.emplace(config_, layout_);
  // The watch first, the scan second: an entry published between a scan and a later watch
  // would wait for the safety-net rescan.
  queue_layout::Watcher watcher(co_await asio::this_coro::executor, layout_.inbox(),
                                config_.router.rescan());
  watcher_ = &watcher;
  if (stopping_) watcher.cancel();  // a signal arrived before the watcher existed
  common::log::info("router started", {{"state_dir", layout_.root().string()},
                                       {"host", config_.host},
                                       {"deployments", enabled_names(config_)},
                                       {"settle_ms", config_.router.settle_ms}});
  try {
    co_await route_inbox(watcher);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;  // cancelled by stop(): a clean exit
  }
  watcher_ = nullptr;
  common::log::info("router stopped");
}

asio::awaitable<bool> Loop::check_schema() {
  for (;;) {
    try {
      ledger_.require_schema();  // SchemaBehind propagates: the router refuses to start
      resumed();
      co_return true;
    } catch (const ledger::Unavailable& e) {
      paused("ledger unavailable", e.what(), "-");
    }
    if (!co_await sleep(backoff_.next())) co_return false;
  }
}

asio::awaitable<void> Loop::route_inbox(queue_layout::Watcher& watcher) {
  const auto inbox = layout_.inbox();
  while (!stopping_) {
    // One listing per batch: everything found is handled in order before the folder is read
    // again, so a backlog costs one scan, not one per entry.
    queue_layout::Listing listing;
    if (const auto ec = queue_layout::list_entries(inbox, listing)) {
      paused("cannot list the inbox", inbox.string() + ": " + ec.message(), "-");
      if (!co_await sleep(backoff_.next())) co_return;
      continue;
    }
    std::optional<Clock::time_point> wake;  // when a not-yet-settled file is due again
    const auto due = [&wake](Clock::time_point t) { wake = wake ? std::min(*wake, t) : t; };

    for (const auto& stray : listing.strays) {
      if (handler_.stuck(stray)) continue;
      try {
        if (const auto at = handler_.handle_stray(stray)) due(*at);
      } catch (const FsError& e) {
        // A stray holds nothing back: try again at the next listing.
        common::log::warn("cannot reject stray file", {{"entry", stray}, {"error", e.what()}});
      }
    }
    bool relist = false;  // a commit failed: list again (after its backoff) before waiting
    for (const auto& name : listing.entries) {
      if (handler_.stuck(name)) continue;
      // Let a pending SIGTERM in between two entries (a backlog is otherwise one long turn of
      // the event loop): the entry at hand is always finished, the next one never started.
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      if (stopping_) break;
      const auto handled = co_await handle_retrying(name);
      if (!handled) break;  // stopping
      if (handled->wait_until) {
        // Not settled yet: the entries behind it wait too, so arrival order is kept.
        due(*handled->wait_until);
        break;
      }
      if (handler_.pending() >= kBatchSize && !co_await flush_or_wait()) {
        relist = true;
        break;
      }
    }
    // Before anything waits or exits: the handled entries leave the inbox durably.
    if (!co_await flush_or_wait()) relist = true;
    if (handler_.tracking()) {
      std::set<std::string> present(listing.entries.begin(), listing.entries.end());
      present.insert(listing.strays.begin(), listing.strays.end());
      handler_.keep_only(present);
    }
    if (stopping_) co_return;
    if (relist) continue;
    if (wake) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now());
      co_await watcher.wait(std::clamp(left, std::chrono::milliseconds(0),
                                       std::chrono::milliseconds(config_.router.rescan())));
    } else {
      co_await watcher.wait();
    }
  }
}

asio::awaitable<std::optional<Handled>> Loop::handle_retrying(const std::string& name) {
  for (;;) {
    try {
      Handled handled = handler_.handle(name);
      resumed();
      co_return handled;
    } catch (const ledger::Unavailable& e) {
      paused("ledger unavailable", e.what(), name);
    } catch (const FsError& e) {
      paused("file system error", e.what(), name);
    }
    // The entry stays in the inbox; nothing behind it is taken meanwhile (order is kept). The
    // entries handled before it need not wait with it: commit them first.
    try {
      handler_.flush();
    } catch (const ledger::Unavailable& e) {
      paused("ledger unavailable", e.what(), "-");
    } catch (const FsError& e) {
      paused("file system error", e.what(), "-");
    }
    if (!co_await sleep(backoff_.next())) co_return std::nullopt;
  }
}

asio::awaitable<bool> Loop::flush_or_wait() {
  try {
    handler_.flush();
    co_return true;
  } catch (const ledger::Unavailable& e) {
    paused("ledger unavailable", e.what(), "-");
  } catch (const FsError& e) {
    paused("file system error", e.what(), "-");
  }
  // The batch's entries are still in the inbox: the caller lists it again after the wait.
  co_await sleep(backoff_.next());
  co_return false;
}

asio::awaitable<bool> Loop::sleep(std::chrono::milliseconds delay) {
  if (stopping_) co_return false;
  timer_.expires_after(delay);
  co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled by stop()
  co_return !stopping_;
}

void Loop::paused(const std::string& why, const std::string& error, const std::string& entry) {
  if (pause_reason_ == why) return;  // one line per state change, not one per retry
  pause_reason_ = why;
  common::log::warn("routing paused, entries wait in the inbox",
                    {{"cause", why}, {"entry", entry}, {"error", error}});
}

void Loop::resumed() {
  if (pause_reason_.empty()) return;
  common::log::info("routing resumed", {{"after", pause_reason_}});
  pause_reason_.clear();
  backoff_.reset();
}

}  // namespace

int run(const common::Config& config, common::ConfigReload* reload) {
  const queue_layout::Layout layout(config.state_dir);
  if (const auto ec = queue_layout::ensure_layout(layout, deployment_names(config))) {
    throw std::runtime_error(config.state_dir.string() +
                             ": cannot create the state directory: " + ec.message());
  }
  // Before anything in this process publishes into the inbox (nothing does), and harmless to
  // the receiver: only temporaries of dead processes are removed.
  if (const auto removed = queue_layout::remove_stale_temporaries(layout.inbox())) {
    common::log::info("removed stale temporaries",
                      {{"folder", layout.inbox().string()}, {"count", removed}});
  }

  asio::io_context io;
  Loop loop(config, io);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  if (reload != nullptr) signals.add(SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (signal == SIGHUP) {
          if (!reload->load(config)) {
            signals.async_wait(on_signal);  // refused: go on as before
            return;
          }
          common::log::info("reloading after the current entry", {{"signal", signal}});
        } else {
          if (reload != nullptr) reload->discard();
          common::log::info("stopping after the current entry", {{"signal", signal}});
        }
        loop.stop();
      };
  signals.async_wait(on_signal);
  std::exception_ptr failure;
  asio::co_spawn(io, loop.run(), [&](std::exception_ptr e) {
    failure = e;
    signals.cancel();  // nothing else keeps io.run() going
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return 0;
}

}  // namespace router
