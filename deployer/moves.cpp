// moves.cpp: see moves.hpp.
#include "deployer/moves.hpp"

#include <stdexcept>

#include "queue-layout/move.hpp"
#include "queue-layout/read.hpp"

namespace deployer {

namespace {

bool same_bytes(const std::filesystem::path& a_dir, const std::filesystem::path& b_dir,
                const std::string& name, std::size_t max_bytes) {
  std::string a, b;
  if (queue_layout::read_entry(a_dir, name, max_bytes, a)) return false;
  if (queue_layout::read_entry(b_dir, name, max_bytes, b)) return false;
  return a == b;
}

}  // namespace

boost::asio::awaitable<void> move_durably(Context& context, const std::filesystem::path& from,
                                          const std::filesystem::path& to,
                                          const std::string& name) {
  auto backoff = std::chrono::milliseconds(250);
  bool logged = false;
  for (;;) {
    std::error_code ec = queue_layout::move_entry(from, to, name);
    if (!ec) {
      if (logged) {
        common::log::info("entry moved after retrying",
                          {{"deployment", context.deployment.name}, {"entry", name}});
      }
      co_return;
    }
    if (ec == std::errc::file_exists) {
      if (same_bytes(from, to, name, context.max_entry_bytes())) {
        // The same entry is already durable in `to`: drop the duplicate left in `from`.
        ec = queue_layout::remove_entry(from, name);
        if (!ec) co_return;
      } else {
        throw std::runtime_error("cannot move " + (from / name).string() + " to " + to.string() +
                                 ": a different file of that name is already there");
      }
    }
    if (!logged) {
      logged = true;
      common::log::error("cannot move entry, retrying", {{"deployment", context.deployment.name},
                                                         {"entry", name},
                                                         {"from", from.string()},
                                                         {"to", to.string()},
                                                         {"error", ec.message()}});
    }
    if (context.stop.requested()) throw Stopped();
    co_await pause(context.stop, backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(30));
  }
}

boost::asio::awaitable<void> publish_failure_durably(Context& context,
                                                     const FailureReport& report) {
  auto backoff = std::chrono::milliseconds(250);
  bool logged = false;
  for (;;) {
    std::error_code ec = publish_failure(context.failed, report);
    if (!ec) co_return;
    if (!logged) {
      logged = true;
      common::log::error("cannot publish error report, retrying",
                         {{"deployment", context.deployment.name},
                          {"entry", report.entry},
                          {"dir", context.failed.string()},
                          {"error", ec.message()}});
    }
    if (context.stop.requested()) throw Stopped();
    co_await pause(context.stop, backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(30));
  }
}

}  // namespace deployer
