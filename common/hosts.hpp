// hosts.hpp: several hosts from one configuration (docs/hosts.md): host names, which host a
// program is, and the per-host substitutions of load_config.
//
// A host name becomes part of paths (through ${DEPLOY_HOST} in state_dir and path) and of ledger
// values, so it is held to a small character set: 1 to 63 of [a-z0-9.-], starting and ending
// with a letter or digit, no "..". resolve_host() is the precedence rule every program follows:
// --host NAME, else $DEPLOY_HOST, else the configuration's "host", else the system's host name
// (lower-cased, any other character as '-': a machine's odd name never stops a configuration
// that does not use hosts). Nothing here does I/O except system_host_name().
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"

namespace common {

/// The variable substituted in state_dir and every deployment's path.
inline constexpr std::string_view host_variable = "DEPLOY_HOST";

/// See the file comment.
bool valid_host_name(std::string_view name);
/// valid_host_name, with the reason when it is not.
Result<void> check_host_name(std::string_view name);

/// The host a program is, and where that came from ("--host", "DEPLOY_HOST", "host", "system").
struct ResolvedHost {
  std::string name;
  std::string from;
};

/// The first non-empty of `cli`, `env`, `configured`, `system` (the system's name made valid:
/// lower-cased, other characters as '-', ".." as ".", cut to 63, trimmed to alphanumerics).
/// Throws ConfigError (against `file`) naming where the invalid name came from.
ResolvedHost resolve_host(const std::filesystem::path& file, std::string_view cli,
                          std::string_view env, std::string_view configured,
                          std::string_view system);

/// gethostname(2); "" when it fails.
std::string system_host_name();

/// `text` with every ${NAME} whose NAME is in `values` replaced by its value; other ${...} and
/// a lone '$' are left as they are (a shell script keeps its own variables).
std::string substitute(std::string_view text, const std::map<std::string, std::string>& values);

/// The first ${NAME} left in `text` (after substitute), or nullopt.
std::optional<std::string> first_variable(std::string_view text);

/// Throws std::runtime_error when `deployment` does not run on `config.host`: a deployer for it
/// has nothing to do on this machine (docs/hosts.md).
void require_on_this_host(const Config& config, const Deployment& deployment);

/// The hosts of `deployment` other than config.host: those the router fans an entry out to.
std::vector<std::string> other_hosts(const Config& config, const Deployment& deployment);

/// Whether `deployment` runs on more than one host: each entry then rolls out across its hosts
/// (deployer/rollout.hpp) and each host keeps its own records in the ledger.
bool on_several_hosts(const Deployment& deployment);

/// The name under which the ledger keeps `host`'s records of `deployment` (queue items, runs,
/// releases, switches, rollbacks): the deployment's own name, or "<name>@<host>" when it runs on
/// several hosts, so that each host has its own history and its own "deployed" commit. '@' is in
/// neither a deployment's nor a host's character set, so the two never collide.
std::string ledger_name(const Deployment& deployment, std::string_view host);

/// The ledger names of `deployment` on every one of its hosts, in the order of `hosts`.
std::vector<std::string> ledger_names(const Deployment& deployment);

/// The deployment a ledger name belongs to (the part before '@').
std::string_view deployment_of_ledger_name(std::string_view name);

/// Whether `host` speaks for `deployment` to the outside (GitHub deployments and commit
/// statuses, notifications): always on one host; the first of `hosts` on several, so that
/// GitHub sees one deployment per environment and a team one message per push.
bool reports_for(const Deployment& deployment, std::string_view host);

}  // namespace common
