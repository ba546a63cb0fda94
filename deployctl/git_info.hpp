// git_info.hpp: what send-test-push asks git, read-only: the tip of a deployment's branch in its
// remote, and the details of a commit (for a realistic payload). Git runs in the deployment's
// working tree (its remote may be a remote name of that tree), with no terminal prompt (a
// command must never wait for a password) and under a timeout. Nothing here changes the working
// tree: no fetch, no checkout; that is the deployer's business.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace deployctl {

/// `git ls-remote REMOTE refs/heads/BRANCH` run in the deployment's path. Throws Failure naming
/// the remote and branch when git fails, times out, or the branch does not exist there.
std::string remote_tip(const common::Deployment& deployment);

struct CommitInfo {
  std::string tree;
  std::string parent;  ///< first parent; empty for a root commit
  std::string author_name, author_email;
  std::string committer_name, committer_email;
  std::string timestamp;  ///< committer date, strict ISO 8601 ("2026-11-23T04:05:06+00:00")
  std::string message;
  std::vector<std::string> added, removed, modified;
};

enum class CommitPresence { present, absent, unknown };

/// Whether the deployment's own copy of the repository (its working tree, or `repo.git` in
/// release mode) holds commit `sha`: `git cat-file -e SHA^{commit}`. unknown when there is no
/// copy yet (never deployed) or git cannot tell (fails otherwise, times out).
CommitPresence commit_presence(const common::Deployment& deployment, const std::string& sha);

/// The commit's details when the working tree has the commit; nullopt otherwise (not fetched
/// yet, no repository there). Never throws for git's failures.
std::optional<CommitInfo> commit_info(const common::Deployment& deployment, const std::string& sha);

}  // namespace deployctl
