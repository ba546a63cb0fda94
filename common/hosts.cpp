// hosts.cpp: see hosts.hpp.
#include "common/hosts.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace common {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool is_alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// The system's name made a valid host name, so that a machine called "Build_Box" still runs a
// configuration that never mentions hosts: lower-cased, other characters as '-', ".." as ".",
// at most 63 characters, trimmed to a letter or digit at both ends ("" when nothing is left).
std::string from_system(std::string_view system) {
  std::string out;
  for (char c : system) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out += is_host_char(c) ? c : '-';
  }
  for (auto at = out.find(".."); at != std::string::npos; at = out.find("..")) out.erase(at, 1);
  if (out.size() > 63) out.resize(63);
  const auto first = std::find_if(out.begin(), out.end(), is_alnum_lower);
  out.erase(out.begin(), first);
  while (!out.empty() && !is_alnum_lower(out.back())) out.pop_back();
  return out;
}

}  // namespace

Result<void> check_host_name(std::string_view name) {
  if (name.empty()) return Error{"must not be empty"};
  if (name.size() > 63) return Error{"must be at most 63 characters"};
  if (!std::all_of(name.begin(), name.end(), is_host_char)) {
    return Error{"must contain only a-z, 0-9, '-' and '.'"};
  }
  // Not ".", "..", a hidden name or one a path would shorten: it becomes a folder name.
  if (!is_alnum_lower(name.front()) || !is_alnum_lower(name.back())) {
    return Error{"must start and end with a letter or a digit"};
  }
  if (name.find("..") != std::string_view::npos) return Error{"must not contain \"..\""};
  return {};
}

bool valid_host_name(std::string_view name) {
  return check_host_name(name).ok();
}

ResolvedHost resolve_host(const std::filesystem::path& file, std::string_view cli,
                          std::string_view env, std::string_view configured,
                          std::string_view system) {
  ResolvedHost host;
  if (!cli.empty()) {
    host = {std::string(cli), "--host"};
  } else if (!env.empty()) {
    host = {std::string(env), "DEPLOY_HOST"};
  } else if (!configured.empty()) {
    host = {std::string(configured), "host"};
  } else {
    host = {from_system(system), "system"};
  }
  if (host.name.empty()) {
    throw ConfigError(file, "host",
                      "the system's host name is unknown: set \"host\", DEPLOY_HOST or --host");
  }
  if (const auto check = check_host_name(host.name); !check.ok()) {
    const std::string where = host.from == "--host"        ? "--host"
                              : host.from == "DEPLOY_HOST" ? "DEPLOY_HOST"
                              : host.from == "host"        ? "the key"
                                                           : "the system's host name";
    throw ConfigError(file, "host",
                      where + " \"" + host.name +
                          "\" is not a valid host name: " + check.error().message +
                          (host.from == "system" ? " (set \"host\", DEPLOY_HOST or --host)" : ""));
  }
  return host;
}

std::string system_host_name() {
  char buffer[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "";
  return buffer;
}

std::string substitute(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  while (at < text.size()) {
    const auto open = text.find("${", at);
    if (open == std::string_view::npos) break;
    const auto close = text.find('}', open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(at, open - at));
    const auto it = values.find(std::string(text.substr(open + 2, close - open - 2)));
    if (it != values.end()) {
      out += it->second;
    } else {
      out.append(text.substr(open, close + 1 - open));
    }
    at = close + 1;
  }
  out.append(text.substr(at));
  return out;
}

std::optional<std::string> first_variable(std::string_view text) {
  const auto open = text.find("${");
  if (open == std::string_view::npos) return std::nullopt;
  const auto close = text.find('}', open + 2);
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(text.substr(open, close + 1 - open));
}

void require_on_this_host(const Config& config, const Deployment& deployment) {
  if (deployment.runs_on(config.host)) return;
  std::string hosts;
  for (const auto& target : deployment.hosts) hosts += (hosts.empty() ? "" : ", ") + target.name;
  throw std::runtime_error("the deployment " + deployment.name + " does not run on this host (" +
                           config.host + ", from " + config.host_from + "): its hosts are " +
                           hosts + " (" + config.file.string() + ": deployments." +
                           deployment.name + ".hosts)");
}

std::vector<std::string> other_hosts(const Config& config, const Deployment& deployment) {
  std::vector<std::string> out;
  for (const auto& target : deployment.hosts) {
    if (target.name != config.host) out.push_back(target.name);
  }
  return out;
}

bool on_several_hosts(const Deployment& deployment) {
  return deployment.hosts.size() > 1;
}

std::string ledger_name(const Deployment& deployment, std::string_view host) {
  if (!on_several_hosts(deployment)) return deployment.name;
  std::string name = deployment.name;
  name += '@';
  name += host;
  return name;
}

std::vector<std::string> ledger_names(const Deployment& deployment) {
  if (!on_several_hosts(deployment)) return {deployment.name};
  std::vector<std::string> out;
  for (const auto& target : deployment.hosts) out.push_back(ledger_name(deployment, target.name));
  return out;
}

std::string_view deployment_of_ledger_name(std::string_view name) {
  return name.substr(0, name.find('@'));
}

bool reports_for(const Deployment& deployment, std::string_view host) {
  return !on_several_hosts(deployment) || deployment.hosts.front().name == host;
}

}  // namespace common
