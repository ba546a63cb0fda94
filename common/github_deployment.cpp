// github_deployment.cpp: see github_deployment.hpp.
#include "common/github_deployment.hpp"

#include "common/outbox.hpp"
#include "common/secrets.hpp"

namespace common {

namespace {
constexpr std::size_t kMaxDescription = 140;  // GitHub's limit for a status description
}  // namespace

std::string_view to_string(DeploymentState state) {
  switch (state) {
    case DeploymentState::queued:
      return "queued";
    case DeploymentState::in_progress:
      return "in_progress";
    case DeploymentState::success:
      return "success";
    case DeploymentState::failure:
      return "failure";
    case DeploymentState::error:
      return "error";
    case DeploymentState::inactive:
      return "inactive";
  }
  return "error";
}

bool github_deployments_on(const Config& config) {
  return config.github.deployments && github_token(config).has_value();
}

std::string cut_utf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t end = limit;
  // Back to the first byte of a character: nlohmann refuses to serialize half of one.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

nlohmann::json deployment_create_body(const Deployment& deployment, const std::string& sha,
                                      const std::string& ref) {
  return {
      {"ref", sha},  // the exact commit, never "whatever the branch is now"
      {"task", "deploy"},
      {"auto_merge", false},
      {"required_contexts", nlohmann::json::array()},
      {"environment", deployment.environment},
      {"transient_environment", false},
      {"description",
       cut_utf8("Deploy " + sha.substr(0, 7) + " to " + deployment.name, kMaxDescription)},
      {"payload", {{"deployment", deployment.name}, {"ref", ref}}},
  };
}

nlohmann::json deployment_status_body(const Deployment& deployment, DeploymentState state,
                                      std::string_view description, const std::string& log_url) {
  nlohmann::json body = {
      {"state", std::string(to_string(state))},
      {"description", cut_utf8(description, kMaxDescription)},
      {"environment", deployment.environment},
  };
  if (!deployment.environment_url.empty()) body["environment_url"] = deployment.environment_url;
  if (!log_url.empty()) body["log_url"] = log_url;
  return body;
}

nlohmann::json github_outbox_item(const Deployment& deployment, const DeploymentStatusItem& item) {
  nlohmann::json github = {
      {"repository", deployment.repository},
      {"key", item.key},
      {"status", deployment_status_body(deployment, item.state, item.description, item.log_url)},
  };
  if (item.create_sha) {
    github["create"] = deployment_create_body(deployment, *item.create_sha, item.ref);
  }
  return {{"github", std::move(github)}};
}

std::error_code queue_github_status(const Config& config, const Deployment& deployment,
                                    const DeploymentStatusItem& item, const std::string& name) {
  return publish_outbox_item(config, deployment.name,
                             name.empty() ? next_outbox_name("github") : name,
                             github_outbox_item(deployment, item));
}

}  // namespace common
