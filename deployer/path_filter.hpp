// path_filter.hpp: whether a webhook push needs deploying at all: the deployment's path filters
// (`paths`, `ignore_paths`) and the "[skip deploy]" marker of its head commit.
//
// The changed paths are git's (`git diff --name-only` between the deployed commit and the
// pushed one, Git::changed_files), never the payload's commit list, which GitHub cuts at 20
// commits and which says nothing about what a force-push or a merge changed. A push skipped
// here leaves the deployed commit where it was, so the next push is compared with that commit
// and its diff includes whatever the skipped pushes changed: nothing slips through unnoticed.
// Operator entries (replays, retries, rollbacks) are explicit requests and are never filtered.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/entry.hpp"
#include "deployer/git.hpp"

namespace deployer {

/// True when `message` contains "[skip deploy]" or "[deploy skip]" (ASCII case ignored).
bool has_skip_marker(std::string_view message);

/// Why `changed` does not deploy under the deployment's filters, or nullopt when it does:
/// the paths not matching `ignore_paths` are the ones that count; with `paths` set one of them
/// must match it, without it any one of them is enough. No filter configured: always nullopt.
/// `since` names the compared commit in the reason.
std::optional<std::string> filtered_out(const common::Deployment& deployment,
                                        const std::vector<std::string>& changed,
                                        const std::string& since);

/// The reason to record a webhook push as skipped, or nullopt to deploy it: the marker in the
/// message of the pushed commit (read with git), then, when something is deployed already and
/// the deployment has filters, the paths changed since `deployed_sha` (a first deploy is never
/// filtered). The commit is present (fetched). Throws DeployFailure when git cannot answer.
boost::asio::awaitable<std::optional<std::string>> skip_reason(
    Git& git, const common::Deployment& deployment, const common::Push& push,
    const std::optional<std::string>& deployed_sha);

}  // namespace deployer
