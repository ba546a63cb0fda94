// coalesce.cpp: see coalesce.hpp.
#include "deployer/coalesce.hpp"

#include <set>

#include "deployer/deploy.hpp"
#include "deployer/moves.hpp"
#include "deployer/run_log.hpp"
#include "queue-layout/group_commit.hpp"

namespace deployer {

namespace {

// Moves `names` from `from` to `to` with one fsync of each folder; when the batch fails (EIO,
// a folder gone), the entries are in `from`, `to` or both, and move_durably finishes each one.
boost::asio::awaitable<void> move_batch(Context& context, const std::filesystem::path& from,
                                        const std::filesystem::path& to,
                                        const std::vector<std::string>& names) {
  queue_layout::GroupCommit batch(from);
  std::error_code ec;
  for (const auto& name : names) {
    if ((ec = batch.link(to, name))) break;
    batch.remove_later(name);
  }
  if (!ec) ec = batch.commit();
  if (!ec) co_return;
  common::log::warn("batch move failed: moving the entries one by one",
                    {{"deployment", context.deployment.name},
                     {"from", from.string()},
                     {"to", to.string()},
                     {"error", ec.message()}});
  for (const auto& name : names) co_await move_durably(context, from, to, name);
}

}  // namespace

boost::asio::awaitable<std::vector<std::string>> supersede_waiting(
    Context& context, const std::vector<std::string>& entries) {
  if (!context.deployment.coalesce || entries.size() < 2) co_return std::vector<std::string>{};
  const auto items = co_await with_ledger(context, "queue_items", [&] {
    return context.ledger.queue_items(context.deployment.name, entries);
  });
  std::vector<std::string> pushes;  // queued webhook pushes, oldest first
  for (const auto& name : entries) {
    auto it = items.find(name);
    if (it != items.end() && it->second.state == ledger::QueueState::queued &&
        it->second.trigger == ledger::Trigger::webhook) {
      pushes.push_back(name);
    }
  }
  if (pushes.size() < 2) co_return std::vector<std::string>{};
  const std::string newest = pushes.back();
  pushes.pop_back();

  co_await move_batch(context, context.queue, context.active, pushes);
  const std::string reason = "superseded by the newer push " + newest;
  const auto marked = co_await with_ledger(context, "supersede", [&] {
    return context.ledger.supersede(context.deployment.name, pushes, reason);
  });
  for (const auto& name : marked) {
    // Evidence only (the ledger holds the decision): a log that cannot be written, on a full
    // disk, is skipped rather than holding up the batch.
    try {
      RunLog log(context.logs / (name + ".log"));
      log.note("superseded: " + reason + "; not deployed");
      log.finish();
    } catch (const std::exception& e) {
      common::log::warn(
          "cannot write the run log of a superseded entry",
          {{"deployment", context.deployment.name}, {"entry", name}, {"error", e.what()}});
    }
  }
  co_await move_batch(context, context.active, context.done, marked);
  common::log::info("pushes superseded", {{"deployment", context.deployment.name},
                                          {"count", static_cast<long>(marked.size())},
                                          {"first", marked.empty() ? "" : marked.front()},
                                          {"by", newest}});
  prune(context);
  // Only this deployer changes queued items of its deployment (the lock), so every entry was
  // marked; one that was not is in active/ and runs now, as a restart would run it.
  const std::set<std::string> recorded(marked.begin(), marked.end());
  for (const auto& name : pushes) {
    if (!recorded.contains(name)) co_await deploy_entry(context, name);
  }
  co_return pushes;
}

}  // namespace deployer
