// coalesce.cpp: see coalesce.hpp.
#include "deployer/coalesce.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <system_error>

#include "deployer/deploy.hpp"
#include "deployer/git.hpp"
#include "deployer/github_deploy.hpp"
#include "deployer/intake.hpp"
#include "deployer/moves.hpp"
#include "deployer/run_log.hpp"
#include "queue-layout/group_commit.hpp"
#include "queue-layout/scan.hpp"

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

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 7);
}

// A waiting webhook push, with what its entry says.
struct Waiting {
  std::string name;
  common::Push push;
};

// Answers "does `tip` contain `older`'s commit?" with git, fetching each tip's commit once.
// Anything git cannot answer (a commit that cannot be fetched, a force-push that dropped it)
// is "no": a push is superseded only when a newer one provably deploys its commit too.
class Ancestry {
 public:
  Ancestry(Context& context, Git& git) : context_(context), git_(git) {}

  boost::asio::awaitable<bool> contains(const Waiting& tip, const Waiting& older) {
    if (tip.push.after == older.push.after) co_return true;
    if (!co_await present(tip)) co_return false;
    // One rev-list per kept push answers for a whole backlog on its branch (a merge-base per
    // push was thousands of git processes); past its window, ask git about the one commit.
    auto known = history_.find(tip.push.after);
    if (known == history_.end()) {
      std::vector<std::string> listed;
      try {
        listed = co_await git_.ancestors(tip.push.after, kHistoryWindow);
      } catch (const DeployFailure&) {
        listed.clear();
      }
      known =
          history_
              .emplace(tip.push.after, History{std::set<std::string>(listed.begin(), listed.end()),
                                               !listed.empty() && listed.size() < kHistoryWindow})
              .first;
    }
    if (known->second.commits.contains(older.push.after)) co_return true;
    if (known->second.complete) co_return false;
    std::optional<bool> answer;
    try {
      answer = co_await git_.is_ancestor(older.push.after, tip.push.after);
    } catch (const DeployFailure&) {
      answer.reset();
    }
    co_return answer.value_or(false);
  }

 private:
  boost::asio::awaitable<bool> present(const Waiting& tip) {
    if (auto it = present_.find(tip.push.after); it != present_.end()) co_return it->second;
    bool ok = true;
    try {
      co_await git_.fetch(context_.deployment.remote, tip.push.ref, tip.push.after);
    } catch (const DeployFailure&) {
      ok = false;  // this push's own deploy will report why
    }
    present_.emplace(tip.push.after, ok);
    co_return ok;
  }

  struct History {
    std::set<std::string> commits;  // reachable from the tip, within the window
    bool complete = false;          // the window held its whole history
  };
  static constexpr std::size_t kHistoryWindow = 10000;

  Context& context_;
  Git& git_;
  std::map<std::string, bool> present_;
  std::map<std::string, History> history_;
};

// The queued webhook pushes among `names`, as read from `dir`, oldest first. An entry that does
// not read as a push is left out (intake sets it aside).
boost::asio::awaitable<std::vector<Waiting>> waiting_pushes(Context& context,
                                                            const std::filesystem::path& dir,
                                                            const std::vector<std::string>& names) {
  std::vector<Waiting> out;
  if (names.empty()) co_return out;
  const auto items = co_await with_ledger(context, "queue_items", [&] {
    return context.ledger.queue_items(context.ledger_name, names);
  });
  for (const auto& name : names) {
    auto it = items.find(name);
    if (it == items.end() || it->second.state != ledger::QueueState::queued ||
        it->second.trigger != ledger::Trigger::webhook) {
      continue;
    }
    auto taken = read_push(dir, name, context);
    if (taken.ok()) out.push_back({name, std::move(taken->push)});
  }
  co_return out;
}

std::string superseded_reason(const Waiting& by) {
  return "superseded by the newer push " + by.name + ": its commit " + short_sha(by.push.after) +
         " contains this one";
}

}  // namespace

boost::asio::awaitable<std::optional<Superseded>> superseding_push(Context& context, RunLog& log,
                                                                   const std::string& entry,
                                                                   const common::Push& push) {
  queue_layout::Listing listing;
  if (queue_layout::list_entries(context.queue, listing)) co_return std::nullopt;
  const auto waiting = co_await waiting_pushes(context, context.queue, listing.entries);
  Git git(context.deployment.path, context.base_env, log, context.stop);
  Ancestry ancestry(context, git);
  const Waiting self{entry, push};
  for (auto it = waiting.rbegin(); it != waiting.rend(); ++it) {
    if (it->name == entry) continue;
    if (co_await ancestry.contains(*it, self)) {
      co_return Superseded{superseded_reason(*it), it->push.after};
    }
  }
  co_return std::nullopt;
}

boost::asio::awaitable<std::vector<std::string>> supersede_waiting(
    Context& context, const std::vector<std::string>& entries) {
  if (!context.deployment.coalesce || entries.size() < 2) co_return std::vector<std::string>{};
  const auto waiting = co_await waiting_pushes(context, context.queue, entries);
  if (waiting.size() < 2) co_return std::vector<std::string>{};

  // Newest first, each push is superseded by the first kept push whose commit contains its own;
  // the others are kept. Arrival order never decides: an old push resent after a newer one is
  // superseded by it, never the reverse. git's output goes to the run log of the newest push,
  // the entry whose deploy needs what was fetched.
  std::map<std::string, std::vector<std::string>> groups;  // keeping push -> pushes it supersedes
  std::map<std::string, const Waiting*> keepers;
  {
    std::unique_ptr<RunLog> log;
    try {
      log = std::make_unique<RunLog>(context.logs / (waiting.back().name + ".log"));
    } catch (const std::system_error& e) {
      // No run log (a full disk): no batch; each push is then decided when it is taken.
      common::log::warn("cannot coalesce waiting pushes now",
                        {{"deployment", context.deployment.name}, {"error", e.what()}});
    }
    if (!log) co_return std::vector<std::string>{};
    log->note("coalescing " + std::to_string(waiting.size()) +
              " waiting pushes by commit ancestry");
    Git git(context.deployment.path, context.base_env, *log, context.stop);
    Ancestry ancestry(context, git);
    std::vector<const Waiting*> kept;
    for (auto it = waiting.rbegin(); it != waiting.rend(); ++it) {
      const Waiting* by = nullptr;
      for (const Waiting* tip : kept) {
        if (co_await ancestry.contains(*tip, *it)) {
          by = tip;
          break;
        }
      }
      if (by != nullptr) {
        groups[by->name].push_back(it->name);
      } else {
        kept.push_back(&*it);
        keepers[it->name] = &*it;
      }
    }
    // A push kept above may be contained by one that arrived before it (an old push resent
    // after a newer one): the kept ones are checked against each other, and what a superseded
    // keeper had superseded goes to the one that contains it (ancestry is transitive).
    for (bool changed = true; changed;) {
      changed = false;
      for (const Waiting* a : kept) {
        for (const Waiting* b : kept) {
          if (a == b || !(co_await ancestry.contains(*b, *a))) continue;
          // The same commit twice: the later arrival stays (a is then the earlier one).
          if (a->push.after == b->push.after && a->name > b->name) continue;
          auto& moved = groups[b->name];
          moved.push_back(a->name);
          if (auto it = groups.find(a->name); it != groups.end()) {
            moved.insert(moved.end(), it->second.begin(), it->second.end());
            groups.erase(it);
          }
          keepers.erase(a->name);
          kept.erase(std::find(kept.begin(), kept.end(), a));
          changed = true;
          break;
        }
        if (changed) break;
      }
    }
  }
  std::vector<std::string> pushes;  // the superseded ones, oldest first
  for (const auto& w : waiting) {
    if (!keepers.contains(w.name)) pushes.push_back(w.name);
  }
  if (pushes.empty()) co_return std::vector<std::string>{};

  co_await move_batch(context, context.queue, context.active, pushes);
  std::vector<std::string> marked;
  std::map<std::string, std::string> reasons;
  std::map<std::string, std::string> by_sha;
  for (auto& [keeper, names] : groups) {
    const std::string reason = superseded_reason(*keepers.at(keeper));
    const auto recorded_now = co_await with_ledger(context, "supersede", [&] {
      return context.ledger.supersede(context.ledger_name, names, reason);
    });
    for (const auto& name : recorded_now) {
      reasons[name] = reason;
      by_sha[name] = keepers.at(keeper)->push.after;
    }
    marked.insert(marked.end(), recorded_now.begin(), recorded_now.end());
  }
  std::sort(marked.begin(), marked.end());
  for (const auto& w : waiting) {
    if (!by_sha.contains(w.name)) continue;
    github_status(context, w.name, w.push, common::DeploymentState::error,
                  "superseded by " + short_sha(by_sha[w.name]));
  }
  for (const auto& name : marked) {
    // Evidence only (the ledger holds the decision): a log that cannot be written, on a full
    // disk, is skipped rather than holding up the batch.
    try {
      RunLog log(context.logs / (name + ".log"));
      log.note("superseded: " + reasons[name] + "; not deployed");
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
                                          {"by", waiting.back().name},
                                          {"kept", static_cast<long>(keepers.size())}});
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
