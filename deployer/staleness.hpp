// staleness.hpp: whether a push is deployed, and whether it is a rollback (the replay rule).
//
// A webhook push (routed from GitHub, its delivery signed) is deployed only when, after
// fetching, both hold:
//   1. for a branch, its commit is the branch's tip in the remote now, or an ancestor of it
//      (a captured push of a commit that is no longer on the branch is refused);
//   2. it is newer than what is deployed: not the deployed commit nor an ancestor of it, and,
//      after an operator's rollback, a strict descendant of the rolled-back-from commit (the
//      high water mark, ledger::DeployedState), which itself keeps counting as deployed.
// Otherwise it is recorded stale with the reason, and nothing runs.
// An operator's entry (a replay, a retry, `deployctl rollback`) is always deployed; when its
// commit is a strict ancestor of the deployed one it is a rollback, recorded as such, and the
// high water mark it leaves is the deployed commit (or the mark of the rollback before it).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "common/entry.hpp"
#include "common/ledger/ledger.hpp"
#include "deployer/git.hpp"

namespace deployer {

struct Judgement {
  bool deploy = true;
  std::string reason;  // why not, for the ledger and the run log
  /// An operator's entry of an older commit: the high water mark its rollback leaves.
  std::optional<std::string> rollback_high_water;
};

/// Applies the rule above. The commit of `push` is present (fetched). `remote` is what the
/// deployment fetches from; its tip is read with `git ls-remote` for webhook branch pushes.
/// Throws DeployFailure when git cannot answer (the remote cannot be asked).
boost::asio::awaitable<Judgement> judge_push(Git& git, const std::string& remote,
                                             const common::Push& push, bool webhook,
                                             const ledger::DeployedState& deployed);

}  // namespace deployer
