// github_deploy.cpp: see github_deploy.hpp.
#include "deployer/github_deploy.hpp"

#include "common/log.hpp"
#include "common/notification.hpp"

namespace deployer {

namespace {

void queue(const Context& context, const common::DeploymentStatusItem& item) {
  if (!context.github_deployments) return;
  if (auto ec = common::queue_github_status(context.config, context.deployment, item)) {
    common::log::error("cannot queue a GitHub deployment status: it is not posted",
                       {{"deployment", context.deployment.name},
                        {"entry", item.key},
                        {"state", std::string(common::to_string(item.state))},
                        {"error", ec.message()}});
  }
}

}  // namespace

void github_status(const Context& context, const std::string& key, const common::Push& push,
                   common::DeploymentState state, const std::string& description,
                   std::optional<ledger::RunId> run) {
  common::DeploymentStatusItem item;
  item.key = key;
  item.state = state;
  item.description = description;
  if (run) item.log_url = common::run_page_url(context.config, *run);
  item.create_sha = push.after;
  item.ref = push.ref;
  queue(context, item);
}

void github_status_of(const Context& context, const std::string& key, common::DeploymentState state,
                      const std::string& description) {
  common::DeploymentStatusItem item;
  item.key = key;
  item.state = state;
  item.description = description;
  queue(context, item);
}

boost::asio::awaitable<std::optional<std::string>> live_before(Context& context,
                                                               std::optional<ledger::RunId> run) {
  if (!context.github_deployments) co_return std::nullopt;
  const auto history = co_await with_ledger(
      context, "history", [&] { return context.ledger.history(context.ledger_name, 50); });
  for (const auto& earlier : history.recent) {
    if (run && earlier.id == *run) continue;
    if (earlier.outcome == ledger::RunOutcome::succeeded) co_return earlier.entry_name;
  }
  co_return std::nullopt;
}

common::DeploymentState failed_state(const std::string& stage) {
  // What the deployment's own code or checks decided is a failure; the rest (git, the disk, a
  // release folder) is an error of the machinery, not of the commit.
  for (const char* prefix : {"step ", "activate", "preflight", "health check"}) {
    if (stage.starts_with(prefix)) return common::DeploymentState::failure;
  }
  return common::DeploymentState::error;
}

}  // namespace deployer
