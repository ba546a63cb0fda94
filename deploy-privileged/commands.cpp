// commands.cpp: policy checks, then the file work and the nginx/certbot runs.
#include "deploy-privileged/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "deploy-privileged/audit.hpp"
#include "deploy-privileged/run.hpp"
#include "deploy-privileged/site_file.hpp"
#include "deploy-privileged/site_rules.hpp"

namespace privileged {
namespace {

constexpr std::chrono::seconds kNginxTimeout{60};
constexpr std::chrono::seconds kCertbotTimeout{600};

// The last part of a command's output, for a one-line error.
std::string tail(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  constexpr std::size_t kMax = 2000;
  if (text.size() > kMax) text = "..." + text.substr(text.size() - kMax);
  return text;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

const Policy::Deployment& deployment_of(const Policy& policy, const std::string& name) {
  const auto it = policy.deployments.find(name);
  if (it == policy.deployments.end()) {
    throw Refused("deployment " + name + " is not in the policy");
  }
  return it->second;
}

void nginx_test(const Policy& policy, const std::string& context) {
  const auto r = run_program(policy.nginx.test, fixed_environment(), kNginxTimeout);
  if (!r.succeeded()) {
    throw std::runtime_error(context + "the nginx configuration test failed: " + tail(r.output));
  }
}

void nginx_reload(const Policy& policy) {
  const auto r = run_program(policy.nginx.reload, fixed_environment(), kNginxTimeout);
  if (!r.succeeded()) throw std::runtime_error("the nginx reload failed: " + tail(r.output));
}

std::string install(const Policy& policy, const Caller& caller,
                    const std::vector<std::string>& args) {
  const std::string& name = args.at(0);
  const std::string& site = args.at(1);
  const auto& deployment = deployment_of(policy, name);
  if (!valid_site_name(site)) throw Refused("site " + site + " is not a valid site file name");
  if (!contains(deployment.sites, site)) {
    throw Refused("site " + site + " is not allowed for deployment " + name);
  }
  std::string text;
  try {
    text = read_caller_file(args.at(2), caller.sudo_uid, caller.sudo_gid);
  } catch (const std::runtime_error& e) {
    throw Refused(e.what());
  }
  if (auto problem = check_site_config(text, deployment.domains, policy.acme.live_dir())) {
    throw Refused(site + ": " + *problem);
  }
  SiteFile file(policy.nginx.conf_dir, site);
  file.install(text);
  try {
    nginx_test(policy, "");
  } catch (const std::runtime_error& e) {
    file.restore();
    throw std::runtime_error(std::string(e.what()) + " (the previous " + site + " is restored)");
  }
  nginx_reload(policy);
  return "installed " + site + " for " + name + " and reloaded nginx";
}

std::string certbot(const Policy& policy, const std::vector<std::string>& args) {
  const std::string& name = args.at(0);
  const auto& deployment = deployment_of(policy, name);
  const std::vector<std::string> domains(args.begin() + 1, args.end());
  if (domains.empty()) throw Refused("no domain given");
  for (const auto& d : domains) {
    if (!valid_domain(d)) throw Refused("domain " + d + " is not a valid domain name");
    if (!contains(deployment.domains, d)) {
      throw Refused("domain " + d + " is not allowed for deployment " + name);
    }
  }
  auto env = fixed_environment();
  if (policy.acme.ca_bundle) env.push_back("REQUESTS_CA_BUNDLE=" + policy.acme.ca_bundle->string());
  const auto r = run_program(certbot_argv(policy, domains), env, kCertbotTimeout);
  if (!r.succeeded()) throw std::runtime_error("certbot failed: " + tail(r.output));
  return tail(r.output);
}

std::string reload(const Policy& policy, const std::vector<std::string>& args) {
  deployment_of(policy, args.at(0));
  nginx_test(policy, "not reloaded: ");
  nginx_reload(policy);
  return "reloaded nginx";
}

}  // namespace

std::vector<std::string> certbot_argv(const Policy& policy,
                                      const std::vector<std::string>& domains) {
  std::vector<std::string> argv = policy.acme.certbot;
  // Fixed arguments only: nothing from the caller but the checked domain names, and no
  // --pre-hook/--post-hook/--deploy-hook (they run shell commands as root).
  argv.insert(argv.end(), {"certonly", "--webroot", "--webroot-path", policy.acme.webroot.string(),
                           "--non-interactive", "--agree-tos", "--keep-until-expiring", "--server",
                           policy.acme.server, "--cert-name", domains.front()});
  if (policy.acme.email) {
    argv.insert(argv.end(), {"--email", *policy.acme.email});
  } else {
    argv.push_back("--register-unsafely-without-email");
  }
  if (policy.acme.config_dir)
    argv.insert(argv.end(), {"--config-dir", policy.acme.config_dir->string()});
  if (policy.acme.work_dir) argv.insert(argv.end(), {"--work-dir", policy.acme.work_dir->string()});
  if (policy.acme.logs_dir) argv.insert(argv.end(), {"--logs-dir", policy.acme.logs_dir->string()});
  for (const auto& d : domains) argv.insert(argv.end(), {"--domain", d});
  return argv;
}

std::string execute(const Invocation& invocation, const Caller& caller) {
  AuditRecord record{caller.describe(), invocation.command, invocation.args, "ok", ""};
  std::optional<std::filesystem::path> log_file;
  try {
    if (::geteuid() != 0) {
      throw Refused("deploy-privileged must run as root (through sudo)");
    }
    const Policy policy = load_policy(policy_path_for(invocation.policy_file, caller));
    log_file = policy.log_file;
    std::string message;
    if (invocation.command == "nginx-install") {
      message = install(policy, caller, invocation.args);
    } else if (invocation.command == "certbot") {
      message = certbot(policy, invocation.args);
    } else if (invocation.command == "nginx-reload") {
      message = reload(policy, invocation.args);
    } else {
      throw Refused("unknown command " + invocation.command);
    }
    audit(record, log_file);
    return message;
  } catch (const Refused& e) {
    record.outcome = "refused";
    record.reason = e.what();
    audit(record, log_file);
    throw;
  } catch (const std::exception& e) {
    record.outcome = "failed";
    record.reason = e.what();
    audit(record, log_file);
    throw;
  }
}

}  // namespace privileged
