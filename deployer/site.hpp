// site.hpp: a deployment's `certificates` and `nginx` site, through the root helper.
//
// The deployer never touches nginx or certbot itself: it runs the configured `privileged_command`
// (by default `sudo -n /usr/local/sbin/deploy-privileged`, docs/operations.md) as its own user,
// never as run_as, with a fixed environment:
//   certbot DEPLOYMENT DOMAIN...        every certificate of `certificates`, at every install:
//                                       certbot's --keep-until-expiring makes that "obtain when
//                                       missing, renew when expiring, otherwise nothing"
//   nginx-install DEPLOYMENT NAME FILE  FILE is `nginx.site` inside the given tree (a release
//                                       folder itself, never through `current`); the helper
//                                       tests nginx's configuration, restores the previous file
//                                       when the test fails, and reloads nginx
//   nginx-reload DEPLOYMENT             after certbot when there is no `nginx` site to install
// In release mode this happens at activation, after the switch, so a release and its nginx site
// go live together; a revert installs the good release's site again. In place it follows the
// steps. The helper's one-line answer goes to the run log.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>

#include "deployer/context.hpp"
#include "deployer/run_log.hpp"

namespace deployer {

/// True when the deployment has `certificates` or `nginx`.
bool has_site(const common::Deployment& deployment);

/// The certificates, then the nginx site from `tree` (see the file comment). Throws
/// DeployFailure (stage "certificates" or "nginx") with the helper's message, or Stopped.
boost::asio::awaitable<void> install_site(Context& context, RunLog& log,
                                          const std::filesystem::path& tree);

/// Only the nginx site from `tree` (a revert): no certbot. Throws like install_site.
boost::asio::awaitable<void> reinstall_nginx_site(Context& context, RunLog& log,
                                                  const std::filesystem::path& tree);

}  // namespace deployer
