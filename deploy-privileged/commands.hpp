// commands.hpp: the three things deploy-privileged does, each checked against the policy.
//
//   nginx-install DEPLOYMENT SITE FILE  read FILE as the caller, check it (site_rules.hpp),
//                                       replace <conf_dir>/SITE atomically, run nginx.test; on
//                                       failure put the previous file back and fail with nginx's
//                                       message; on success run nginx.reload
//   certbot DEPLOYMENT DOMAIN...        certbot certonly --webroot for the policy's domains of
//                                       DEPLOYMENT, with fixed arguments (no hooks)
//   nginx-reload DEPLOYMENT             nginx.test, then nginx.reload
//
// Every call, allowed or not, is written to the audit log before execute returns. A refusal (the
// policy does not allow it) throws Refused; any other failure throws std::runtime_error. Either
// message is one line, which run_main prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "deploy-privileged/policy.hpp"

namespace privileged {

struct Invocation {
  std::string command;  ///< "nginx-install", "certbot" or "nginx-reload"
  std::vector<std::string> args;
  std::optional<std::filesystem::path> policy_file;  ///< --policy, when given
};

/// Runs the invocation for `caller` (see the file comment); returns what to print on success.
std::string execute(const Invocation& invocation, const Caller& caller);

/// The argv of the certbot run for `domains` (already checked), for tests and docs.
std::vector<std::string> certbot_argv(const Policy& policy,
                                      const std::vector<std::string>& domains);

}  // namespace privileged
