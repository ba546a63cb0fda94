// match.cpp: the routing rules of match.hpp.
#include "router/match.hpp"

#include "common/validate.hpp"

namespace router {
namespace {

// Whether `d` takes `push` by the branch/tag and deletion rules, ignoring "enabled".
bool takes(const common::Deployment& d, const common::Push& push) {
  if (!common::same_repository(d.repository, push.repository)) return false;
  if (push.deleted && !d.deletions) return false;
  if (push.is_tag()) return d.tags;
  return push.ref == "refs/heads/" + d.branch;
}

std::string why_nothing(const common::Config& config, const common::Push& push) {
  bool repository_watched = false;
  bool ref_watched = false;
  std::string disabled;
  for (const auto& [name, d] : config.deployments) {
    if (takes(d, push) && !d.enabled) disabled += (disabled.empty() ? "" : ", ") + name;
    if (!d.enabled || !common::same_repository(d.repository, push.repository)) continue;
    repository_watched = true;
    if (push.is_tag() ? d.tags : push.ref == "refs/heads/" + d.branch) ref_watched = true;
  }
  std::string reason;
  if (!repository_watched) {
    reason = "no enabled deployment watches " + push.repository;
  } else if (push.is_tag() && !ref_watched) {
    reason = "tag push " + push.ref + ": no enabled deployment of " + push.repository +
             " has \"tags\": true";
  } else if (!ref_watched) {
    reason = "no enabled deployment watches " + push.repository + "@" + push.branch();
  } else {
    reason = "push deletes " + push.ref + ": no enabled deployment of it has \"deletions\": true";
  }
  if (!disabled.empty()) reason += " (disabled: " + disabled + ")";
  return reason;
}

}  // namespace

Match match_push(const common::Config& config, const common::Push& push) {
  Match match;
  for (const auto& [name, d] : config.deployments) {
    if (d.enabled && takes(d, push)) match.deployments.push_back(name);
  }
  if (match.deployments.empty()) match.reason = why_nothing(config, push);
  return match;
}

bool is_check_event(std::string_view event) {
  return event == "check_run" || event == "check_suite" || event == "workflow_run" ||
         event == "status";
}

Match match_checks(const common::Config& config, const std::string& repository) {
  Match match;
  for (const auto& [name, d] : config.deployments) {
    if (d.enabled && d.wait_for_checks && common::same_repository(d.repository, repository)) {
      match.deployments.push_back(name);
    }
  }
  if (match.deployments.empty()) {
    match.reason = "no enabled deployment of " + repository + " waits for checks";
  }
  return match;
}

}  // namespace router
