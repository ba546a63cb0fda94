// moves.cpp: see moves.hpp.
#include "deployer/moves.hpp"

#include <cerrno>
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
  auto move = [&]() -> std::error_code {
    std::error_code ec = queue_layout::move_entry(from, to, name);
    if (ec != std::errc::file_exists) return ec;
    if (!same_bytes(from, to, name, context.max_entry_bytes())) {
      throw std::runtime_error("cannot move " + (from / name).string() + " to " + to.string() +
                               ": a different file of that name is already there");
    }
    // The same entry is already durable in `to`: drop the duplicate left in `from`.
    return queue_layout::remove_entry(from, name);
  };
  // Every error is worth waiting out: giving up would leave the entry in `from`, and the next
  // start would take it again.
  // (The fields are built before the co_await: g++ 12 rejects a braced list inside one.)
  std::vector<common::log::Field> fields{
      {"entry", name}, {"from", from.string()}, {"to", to.string()}};
  co_await retry_while_passing(context, "cannot move entry, retrying", std::move(fields), move,
                               [](const std::error_code&) { return true; });
}

boost::asio::awaitable<void> publish_failure_durably(Context& context,
                                                     const FailureReport& report) {
  std::vector<common::log::Field> fields{{"entry", report.entry},
                                         {"folder", context.failed.string()}};
  co_await retry_while_passing(
      context, "cannot publish error report, retrying", std::move(fields),
      [&] { return publish_failure(context.failed, report); },
      [](const std::error_code&) { return true; });
}

}  // namespace deployer
