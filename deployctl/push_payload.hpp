// push_payload.hpp: a GitHub `push` webhook delivery for `deployctl send-test-push`, shaped like
// the real thing (ref, before, after, created/deleted/forced, compare, repository with owner,
// pusher, sender, commits and head_commit), so the receiver, the router and the deployer are
// exercised exactly as by GitHub. Pure: no I/O (the commit's details are passed in).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "deployctl/git_info.hpp"

namespace deployctl {

struct TestPush {
  std::string repository;  ///< "owner/name"
  std::string branch;
  std::string sha;
  std::string user;       ///< who asks (pusher and sender)
  std::string timestamp;  ///< ISO 8601, used when `commit` is absent
  std::optional<CommitInfo> commit;
};

/// The payload object.
nlohmann::json push_payload(const TestPush& push);

/// A random version-4 UUID, the format of X-GitHub-Delivery. Throws when the system has no
/// randomness to give.
std::string random_uuid();

/// A stable hook id for a repository (1 to 10 digits, never 0): the same repository always gets
/// the same X-GitHub-Hook-ID, as it would from one GitHub webhook.
std::string hook_id_for(const std::string& repository);

}  // namespace deployctl
