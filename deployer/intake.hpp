// intake.hpp: choosing the next entry of the deployment's queue, and setting aside what cannot
// be deployed.
//
// The queue folder is listed (queue-layout scan: canonical names in arrival order, plus strays).
// The oldest entry that reads and parses as a push for this deployment's repository is the next
// one. A file that is not yet usable may be a hand-dropped file still being written (cp, an
// editor), so it gets router.settle_ms to become valid; past that it is moved to failed/ with
// the reason beside it, never deleted:
//   - a canonical entry that cannot be read or parsed, or is not a push of this repository:
//     failed/<entry>.error.json (stage "entry"), and the ledger marks it failed;
//   - a stray "*.json" whose name is not an entry name: failed/<name>.reason (queue-layout
//     quarantine), nothing in the ledger (it has no entry name to key it by).
// While such a file waits, younger entries behind it are still taken.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "common/entry.hpp"
#include "common/result.hpp"
#include "common/rollback_entry.hpp"
#include "deployer/context.hpp"

namespace deployer {

/// An entry that can be deployed: a push, or a rollback request (rollback_entry.hpp), whose
/// `push` then has the deployment's branch as ref and an empty `after` (the commit is the
/// target release's, found when the entry runs).
struct TakenEntry {
  common::Entry entry;
  common::Push push;
  std::optional<common::RollbackRequest> rollback{};
};

/// Reads `dir/name` and checks it is a push of `deployment`'s repository with a commit to
/// deploy, or a rollback of a release-mode deployment's repository. The error says what is
/// wrong, for the failure report.
common::Result<TakenEntry> read_push(const std::filesystem::path& dir, const std::string& name,
                                     const Context& context);

struct IntakeResult {
  std::optional<std::string> next;                   // the entry to take, if any
  std::optional<std::chrono::milliseconds> recheck;  // look again after this (a file settling)
};

/// Lists the queue, sets aside what stayed invalid past the settle time, and returns the oldest
/// usable entry (still in the queue folder).
boost::asio::awaitable<IntakeResult> next_entry(Context& context);

/// Sets aside an entry that cannot be deployed: ledger mark(failed) when it has an entry name,
/// error report published in failed/, then the entry moved there from `from`.
boost::asio::awaitable<void> reject_entry(Context& context, const std::filesystem::path& from,
                                          const std::string& name, const std::string& reason,
                                          const std::string& sha = "", const std::string& ref = "");

/// deploy_entry(), except that a value the ledger refuses (ledger::DataError: the entry's data,
/// not the database) fails this entry instead of the deployer: its report is published in
/// failed/ (stage "ledger") and it moves there from active/. One entry never stops the program.
boost::asio::awaitable<void> deploy_or_set_aside(Context& context, const std::string& name);

}  // namespace deployer
