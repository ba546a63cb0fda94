// site.cpp: see site.hpp.
#include "deployer/site.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "deployer/environment.hpp"
#include "deployer/errors.hpp"
#include "deployer/steps.hpp"

namespace deployer {

namespace {

constexpr auto kCertbotTimeout = std::chrono::minutes(15);
constexpr auto kNginxTimeout = std::chrono::minutes(2);

// One call of the helper, as the deployer's own user; its output goes to the run log.
boost::asio::awaitable<void> helper(Context& context, RunLog& log, const std::string& stage,
                                    const std::vector<std::string>& args,
                                    std::chrono::milliseconds timeout) {
  common::Command command;
  command.argv = context.config.privileged_command;
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  // sudo resets the environment anyway; nothing of the deployer's reaches the helper.
  command.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
  command.timeout = timeout;
  const common::Outcome outcome = co_await run_logged(command, log, stage, context.stop);
  if (!outcome.succeeded()) {
    std::vector<std::string> tail(log.tail().begin(), log.tail().end());
    // The helper's one line ("deploy-privileged: error: refused: ...") is the reason.
    std::string reason = tail.empty() ? outcome.describe() : tail.back();
    throw DeployFailure(stage, reason,
                        outcome.ending == common::Ending::exited
                            ? std::optional<int>(outcome.exit_code)
                            : std::nullopt,
                        std::move(tail));
  }
}

boost::asio::awaitable<void> nginx_install(Context& context, RunLog& log,
                                           const std::filesystem::path& tree) {
  const auto& nginx = *context.deployment.nginx;
  const std::vector<std::string> args{"nginx-install", context.deployment.name, nginx.name,
                                      (tree / nginx.site).string()};
  co_await helper(context, log, "nginx", args, kNginxTimeout);
}

}  // namespace

bool has_site(const common::Deployment& deployment) {
  return deployment.nginx.has_value() || !deployment.certificates.empty();
}

boost::asio::awaitable<void> install_site(Context& context, RunLog& log,
                                          const std::filesystem::path& tree) {
  const auto& deployment = context.deployment;
  if (!deployment.certificates.empty()) {
    std::vector<std::string> args{"certbot", deployment.name};
    args.insert(args.end(), deployment.certificates.begin(), deployment.certificates.end());
    co_await helper(context, log, "certificates", args, kCertbotTimeout);
  }
  if (deployment.nginx) {
    co_await nginx_install(context, log, tree);
  } else if (!deployment.certificates.empty()) {
    // A renewed certificate is used only after a reload.
    const std::vector<std::string> args{"nginx-reload", deployment.name};
    co_await helper(context, log, "nginx", args, kNginxTimeout);
  }
}

boost::asio::awaitable<void> reinstall_nginx_site(Context& context, RunLog& log,
                                                  const std::filesystem::path& tree) {
  if (context.deployment.nginx) co_await nginx_install(context, log, tree);
}

}  // namespace deployer
