// status.hpp: GitHub commit statuses for a deployment ("deploy/<name>": pending, success, failure).
//
// post() only queues the status and returns: a worker coroutine (run()) sends the queue in order,
// so "pending" always reaches GitHub before the "success" of the same deploy. Each status is
// tried a few times with growing pauses; one that still cannot be posted is logged and dropped.
// A status never fails a deploy and never holds up the queue: the deploy goes on while statuses
// are sent, and a shutdown abandons what is still queued (logged).
//
// The token is sent only in the Authorization header and never appears in a log line or in an
// error message.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <string>
#include <string_view>

#include "common/http_client.hpp"
#include "common/stop.hpp"

namespace deployer {

enum class StatusState { pending, success, failure, error };
std::string_view to_string(StatusState state);

struct StatusSettings {
  common::Url api;         // GitHub's API base (config github.api_url)
  std::string token;       // never logged
  std::string repository;  // "owner/name"
  std::string context;     // "deploy/<deployment>"
  std::chrono::milliseconds attempt_timeout{std::chrono::seconds(10)};
  int attempts = 4;
  std::chrono::milliseconds first_backoff{std::chrono::seconds(1)};
};

/// The JSON body GitHub expects; the description is cut to 140 characters (GitHub's limit) on a
/// UTF-8 character boundary.
std::string status_body(StatusState state, std::string_view description, std::string_view context,
                        std::string_view target_url = {});

class StatusReporter {
 public:
  StatusReporter(boost::asio::any_io_executor executor, StatusSettings settings,
                 common::StopSignal& stop);

  /// Queues a status for `sha`. Returns at once.
  void post(std::string sha, StatusState state, std::string description, std::string entry);

  /// The worker: sends queued statuses in order until stop is requested. co_spawn it once.
  boost::asio::awaitable<void> run();

  /// Statuses queued and not yet sent or dropped.
  std::size_t pending() const { return queue_.size() + (busy_ ? 1 : 0); }

 private:
  struct Item {
    std::string sha;
    StatusState state;
    std::string description;
    std::string entry;
  };
  /// False when a shutdown interrupted it; true when posted, or given up and logged.
  boost::asio::awaitable<bool> send(const Item& item);

  StatusSettings settings_;
  common::StopSignal& stop_;
  std::deque<Item> queue_;
  boost::asio::steady_timer wake_;
  bool busy_ = false;
};

}  // namespace deployer
