// match.hpp: which deployments a push goes to. Pure: no I/O, no ledger, no clock.
//
// The rules, as an operator reads them in docs/router.md:
//   - only enabled deployments are candidates;
//   - the repository is compared case-insensitively (GitHub does: "DUCOMPSOC/DurHack" is
//     "ducompsoc/durhack");
//   - a branch push (refs/heads/<b>) matches a deployment whose "branch" is exactly <b>;
//   - a tag push (refs/tags/<t>) matches only deployments with "tags": true, whatever their branch;
//   - a push that deletes its ref ("deleted": true) matches only deployments with
//     "deletions": true (on top of the branch or tag rule).
// When nothing matches, Match::reason says why in one line, for the ledger's "ignored" record.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/entry.hpp"

namespace router {

struct Match {
  /// Names of the matching deployments, in name order (the configuration's map order).
  std::vector<std::string> deployments;
  /// Why nothing matched; empty when `deployments` is not.
  std::string reason;
};

/// The deployments `push` must be queued for under `config`.
Match match_push(const common::Config& config, const common::Push& push);

/// True for the events that report on a commit's checks: check_run, check_suite, workflow_run,
/// status.
bool is_check_event(std::string_view event);

/// The deployments a check event of `repository` wakes: the enabled ones of that repository
/// with wait_for_checks (docs/github.md).
Match match_checks(const common::Config& config, const std::string& repository);

}  // namespace router
