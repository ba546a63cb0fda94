// intake.cpp: see intake.hpp.
#include "deployer/intake.hpp"

#include <set>

#include "common/printable.hpp"
#include "common/validate.hpp"
#include "deployer/coalesce.hpp"
#include "deployer/deploy.hpp"
#include "deployer/moves.hpp"
#include "queue-layout/quarantine.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"

namespace deployer {

namespace {

bool is_null_sha(std::string_view sha) {
  return sha.find_first_not_of('0') == std::string_view::npos;
}

std::chrono::milliseconds to_ms(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

common::Result<TakenEntry> read_rollback(common::Entry entry, const Context& context) {
  auto request = common::parse_rollback(entry.payload);
  if (!request.ok()) return common::Error{"not a valid rollback: " + request.error().message};
  if (!common::same_repository(request->repository, context.deployment.repository)) {
    return common::Error{"rollback of repository " + request->repository + ", but deployment " +
                         context.deployment.name + " deploys " + context.deployment.repository};
  }
  if (!context.deployment.releases) {
    return common::Error{"deployment " + context.deployment.name +
                         " is not in release mode (no \"releases\"): there is no release to "
                         "roll back to; enqueue the older commit instead"};
  }
  common::Push push;
  push.ref = "refs/heads/" + context.deployment.branch;
  push.repository = request->repository;
  return TakenEntry{std::move(entry), std::move(push), std::move(request.value())};
}

}  // namespace

namespace {

common::Result<TakenEntry> check_push(const std::filesystem::path& dir, const std::string& name,
                                      const Context& context) {
  std::string text;
  if (auto ec = queue_layout::read_entry(dir, name, context.max_entry_bytes(), text)) {
    return common::Error{"cannot read entry: " +
                         queue_layout::describe(ec, context.max_entry_bytes())};
  }
  auto entry = common::parse_entry(text);
  if (!entry.ok()) return common::Error{"not a valid entry: " + entry.error().message};
  if (entry->meta.event == "rollback") return read_rollback(std::move(entry.value()), context);
  if (entry->meta.event != "push") {
    return common::Error{"event \"" + entry->meta.event + "\" is not a push"};
  }
  auto push = common::parse_push(entry->payload);
  if (!push.ok()) return common::Error{"not a valid push: " + push.error().message};
  if (!common::same_repository(push->repository, context.deployment.repository)) {
    return common::Error{"push of repository " + push->repository + ", but deployment " +
                         context.deployment.name + " deploys " + context.deployment.repository};
  }
  if (push->deleted || is_null_sha(push->after)) {
    return common::Error{"push deletes " + push->ref + ": there is no commit to deploy"};
  }
  return TakenEntry{std::move(entry.value()), std::move(push.value())};
}

}  // namespace

common::Result<TakenEntry> read_push(const std::filesystem::path& dir, const std::string& name,
                                     const Context& context) {
  auto taken = check_push(dir, name, context);
  // A hand-dropped file may hold any bytes, and the parser's message quotes them: made printable
  // here (push_check.hpp), the reason can go into the ledger, the log and the report alike.
  if (!taken.ok()) return common::Error{common::printable(taken.error().message)};
  return taken;
}

boost::asio::awaitable<void> reject_entry(Context& context, const std::filesystem::path& from,
                                          const std::string& name, const std::string& reason,
                                          const std::string& sha, const std::string& ref) {
  common::log::warn("entry cannot be deployed: moving it to failed/",
                    {{"deployment", context.deployment.name}, {"entry", name}, {"reason", reason}});
  std::string refused;
  try {
    co_await with_ledger(context, "mark", [&] {
      context.ledger.mark(context.ledger_name, name, ledger::QueueState::failed, reason, sha, ref);
    });
  } catch (const ledger::DataError& e) {
    // The ledger refused something about this entry: it still goes to failed/ with its reason.
    refused = e.what();
  }
  if (!refused.empty()) {
    common::log::error(
        "ledger refused the failure of an entry: moving it to failed/ anyway",
        {{"deployment", context.deployment.name}, {"entry", name}, {"error", refused}});
  }
  FailureReport report;
  report.entry = name;
  report.deployment = context.deployment.name;
  report.sha = sha;
  report.ref = ref;
  report.stage = "entry";
  report.reason = reason;
  // The report first, then the move: an entry in failed/ never lacks its reason.
  co_await publish_failure_durably(context, report);
  std::error_code type_ec;
  if (std::filesystem::symlink_status(from / name, type_ec).type() ==
      std::filesystem::file_type::directory) {
    // A folder dropped with an entry name cannot be hard-linked (EPERM): move_durably would
    // retry forever and block the whole queue behind it. quarantine() renames it without
    // replacing anything; on failure it stays put and the next scan tries again.
    if (auto ec = queue_layout::quarantine(from, context.failed, name, reason)) {
      common::log::error(
          "cannot quarantine folder",
          {{"deployment", context.deployment.name}, {"entry", name}, {"error", ec.message()}});
    }
    co_return;
  }
  co_await move_durably(context, from, context.failed, name);
}

boost::asio::awaitable<IntakeResult> next_entry(Context& context) {
  IntakeResult result;
  const auto settle = std::chrono::milliseconds(context.config.router.settle_ms);
  auto wait_for = [&](std::chrono::nanoseconds age) {
    auto left = std::max(to_ms(settle - age), std::chrono::milliseconds(50));
    if (!result.recheck || left < *result.recheck) result.recheck = left;
  };

  queue_layout::Listing listing;
  if (auto ec = queue_layout::list_entries(context.queue, listing)) {
    common::log::error("cannot list queue", {{"deployment", context.deployment.name},
                                             {"folder", context.queue.string()},
                                             {"error", ec.message()}});
    result.recheck = std::chrono::seconds(1);
    co_return result;
  }

  for (const auto& stray : listing.strays) {
    std::chrono::nanoseconds age{0};
    if (queue_layout::entry_age(context.queue, stray, age)) continue;  // gone meanwhile
    if (age < settle) {
      wait_for(age);
      continue;
    }
    const std::string reason =
        "\"" + stray + "\" is not a queue entry name (<20-digit timestamp>-<id>.json)";
    common::log::warn("stray file in queue: moving it to failed/",
                      {{"deployment", context.deployment.name}, {"file", stray}});
    if (auto ec = queue_layout::quarantine(context.queue, context.failed, stray, reason)) {
      common::log::error(
          "cannot quarantine stray file",
          {{"deployment", context.deployment.name}, {"file", stray}, {"error", ec.message()}});
      result.recheck = std::chrono::seconds(5);
    }
  }

  // A backlog of webhook pushes is superseded as one batch before anything is taken.
  const auto superseded = co_await supersede_waiting(context, listing.entries);
  const std::set<std::string> gone(superseded.begin(), superseded.end());
  for (const auto& name : listing.entries) {
    if (gone.contains(name)) continue;
    auto taken = read_push(context.queue, name, context);
    if (taken.ok()) {
      result.next = name;
      co_return result;
    }
    std::chrono::nanoseconds age{0};
    if (queue_layout::entry_age(context.queue, name, age)) continue;  // gone meanwhile
    if (age < settle) {
      wait_for(age);
      continue;
    }
    co_await reject_entry(context, context.queue, name, taken.error().message);
  }
  co_return result;
}

boost::asio::awaitable<void> deploy_or_set_aside(Context& context, const std::string& name) {
  std::string refused;
  try {
    co_await deploy_entry(context, name);
    co_return;
  } catch (const ledger::DataError& e) {
    refused = e.what();  // co_await is not allowed in a handler
  }
  common::log::error(
      "ledger refused a value of this entry: moving it to failed/",
      {{"deployment", context.deployment.name}, {"entry", name}, {"error", refused}});
  if (!queue_layout::exists(context.active, name)) co_return;  // already moved on
  FailureReport report;
  report.entry = name;
  report.deployment = context.deployment.name;
  report.stage = "ledger";
  report.reason = refused;
  // The report first, then the move: an entry in failed/ never lacks its reason.
  co_await publish_failure_durably(context, report);
  co_await move_durably(context, context.active, context.failed, name);
}

}  // namespace deployer
