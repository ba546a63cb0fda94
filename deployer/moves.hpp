// moves.hpp: moving an entry between the deployment's folders, insisting until it is done.
//
// A move is queue-layout's move_entry (link, fsync, unlink, fsync: the entry is in at least one
// folder at every instant). A move that fails for a passing reason (EIO, ENOSPC while fsyncing)
// is retried with capped back-off instead of being given up: giving up would leave the entry in
// active/, and the next start would deploy it again. One log line when retrying starts.
//
// A different file already holding the name in the target folder is resolved only when it has
// the same bytes (an operator copied an entry back with cp): the copy in the source folder is
// then removed, since the target holds the same entry. Any other conflict is thrown as
// std::runtime_error naming both paths: an operator must look.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/backoff.hpp"
#include "common/disk_error.hpp"
#include "common/log.hpp"
#include "deployer/context.hpp"
#include "deployer/failure_report.hpp"

namespace deployer {

/// Calls `attempt()` (returning a std::error_code) until it returns 0 or an error `passing(ec)`
/// does not call passing, waiting with capped back-off (0.25 s doubling to 30 s) in between: the
/// entry stays where it is meanwhile, so a full disk or an I/O error costs time, never the entry.
/// Logs `message` (an error line, with `fields` and the error) once when the waiting starts and
/// "<message>: done after waiting" once it succeeds. Returns 0, or the first error that is not
/// passing. Throws Stopped when stop is requested while waiting.
template <typename Attempt, typename Passing>
boost::asio::awaitable<std::error_code> retry_while_passing(Context& context,
                                                            std::string_view message,
                                                            std::vector<common::log::Field> fields,
                                                            Attempt attempt, Passing passing) {
  common::Backoff backoff(std::chrono::milliseconds(250), std::chrono::seconds(30));
  bool waiting = false;
  for (;;) {
    const std::error_code ec = attempt();
    if (!ec || !passing(ec)) {
      if (!ec && waiting) {
        common::log::info(std::string(message) + ": done after waiting",
                          {{"deployment", context.deployment.name}});
      }
      co_return ec;
    }
    if (!waiting) {
      waiting = true;
      fields.insert(fields.begin(), {"deployment", context.deployment.name});
      fields.emplace_back("error", ec.message());
      common::log::write(common::log::Level::error, message, fields);
    }
    if (context.stop.requested()) throw Stopped();
    co_await pause(context.stop, backoff.next());
  }
}

/// Moves `name` from `from` to `to` (see above). Throws Stopped if stop is requested while
/// retrying (the entry is then in `from`, `to` or both, and the next start finishes the move).
boost::asio::awaitable<void> move_durably(Context& context, const std::filesystem::path& from,
                                          const std::filesystem::path& to, const std::string& name);

/// Publishes the failure report of an entry (failure_report.hpp), retrying like move_durably
/// until it is durable. Throws Stopped if stop is requested while retrying.
boost::asio::awaitable<void> publish_failure_durably(Context& context, const FailureReport& report);

}  // namespace deployer
