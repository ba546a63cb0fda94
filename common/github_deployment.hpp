// github_deployment.hpp: GitHub deployments and their statuses (docs/github.md), as outbox items.
//
// One GitHub deployment per deploy (per queue entry, its "key"), created for the exact commit
// with auto_merge false, required_contexts [] (the deployer decides what to deploy, GitHub must
// not refuse or merge) and transient_environment false, in the deployment's `environment`.
// Statuses: queued (the router, when it routes the push), in_progress (the run starts), then
// success, failure (the deploy ran and failed), error (it was not deployed: superseded, stale, or
// the machinery failed: fetch, checkout) and inactive (the rolled-back one).
//
// Nothing here talks to GitHub: queue_github_status publishes an outbox item (outbox.hpp)
//   {"github": {"repository": "o/r", "key": "<entry name>", "create": {<deployment body>},
//               "status": {<status body>}}}
// and the deployer's outbox drain sends it: creates the deployment when the key has no id yet
// ("create" present; without it the status is for a deployment created earlier), then posts the
// status. Items are sent strictly in their order, so a deploy's statuses reach GitHub in the order
// they happened.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "common/config.hpp"

namespace common {

enum class DeploymentState { queued, in_progress, success, failure, error, inactive };
std::string_view to_string(DeploymentState state);

/// True when GitHub deployments are posted: `github.deployments` and a GitHub token configured.
/// Throws SecretError when the token's file cannot be read.
bool github_deployments_on(const Config& config);

/// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string cut_utf8(std::string_view text, std::size_t limit);

/// The POST /repos/{o}/{r}/deployments body for `sha` of `deployment` (`ref` goes to the payload).
nlohmann::json deployment_create_body(const Deployment& deployment, const std::string& sha,
                                      const std::string& ref);

/// The POST .../deployments/{id}/statuses body: state, description (cut to GitHub's 140
/// characters), environment, environment_url when configured, log_url when given.
nlohmann::json deployment_status_body(const Deployment& deployment, DeploymentState state,
                                      std::string_view description, const std::string& log_url);

/// What one status says, and for which deploy.
struct DeploymentStatusItem {
  std::string key;  ///< the entry name of the deploy
  DeploymentState state = DeploymentState::queued;
  std::string description;
  std::string log_url;  ///< "" when unknown
  /// Set: create the GitHub deployment for this commit first when the key has none yet.
  std::optional<std::string> create_sha;
  std::string ref;  ///< with create_sha
};

/// The outbox item (see the file comment).
nlohmann::json github_outbox_item(const Deployment& deployment, const DeploymentStatusItem& item);

/// Publishes the item in `deployment`'s outbox under `name` ("" = next_outbox_name("github")).
/// EEXIST when `name` is there already. Callers check github_deployments_on first.
std::error_code queue_github_status(const Config& config, const Deployment& deployment,
                                    const DeploymentStatusItem& item, const std::string& name = "");

}  // namespace common
