// policy.hpp: what deploy-privileged may do, read from a root-owned JSON file.
//
//   { "nginx": { "conf_dir": "/etc/nginx/conf.d", "test": ["/usr/sbin/nginx", "-t"],
//                "reload": ["/usr/bin/systemctl", "reload", "nginx"] },
//     "acme":  { "server": "https://acme-v02.api.letsencrypt.org/directory", "ca_bundle": null,
//                "webroot": "/var/www/letsencrypt", "email": "ops@example.com" },
//     "deployments": { "durhack": { "sites": ["api.durhack.com.conf"],
//                                   "domains": ["api.durhack.com"] } } }
//
// Optional keys: acme.certbot (the certbot argv prefix, default ["/usr/bin/certbot"]),
// acme.config_dir / work_dir / logs_dir (certbot's folders, default certbot's own), and log_file
// (an audit log appended to instead of syslog). Every path and program is absolute; site names
// and domains follow the strict rules of site_rules.hpp.
//
// Trust: the file is used only when it and every folder above it belong to root and no one else
// can write them (a sticky world-writable folder such as /tmp counts as safe: others cannot
// replace root's entries in it). A policy someone else could edit would hand them root.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace privileged {

/// What the policy (or the rules for choosing it) does not allow; the message starts "refused: ".
class Refused : public std::runtime_error {
 public:
  explicit Refused(const std::string& why) : std::runtime_error("refused: " + why) {}
};

struct Policy {
  struct Nginx {
    std::filesystem::path conf_dir;
    std::vector<std::string> test;    ///< argv of the configuration test
    std::vector<std::string> reload;  ///< argv of the reload
  };
  struct Acme {
    std::string server;
    std::optional<std::filesystem::path> ca_bundle;
    std::filesystem::path webroot;
    std::optional<std::string> email;
    std::vector<std::string> certbot{"/usr/bin/certbot"};
    std::optional<std::filesystem::path> config_dir, work_dir, logs_dir;

    /// Where certbot keeps live/<name>/ (config_dir or certbot's default /etc/letsencrypt).
    std::filesystem::path live_dir() const;
  };
  struct Deployment {
    std::vector<std::string> sites;
    std::vector<std::string> domains;
  };

  Nginx nginx;
  Acme acme;
  std::map<std::string, Deployment> deployments;
  std::optional<std::filesystem::path> log_file;
};

/// The default policy file.
inline const std::filesystem::path kDefaultPolicyPath = "/etc/durhack-deployer/privileged.json";

/// Parses a policy document. Throws std::runtime_error "<display>: <key path>: <problem>".
Policy parse_policy(const std::string& text, const std::string& display);

/// Reads and parses `file` after checking that root alone controls it (see the file comment).
/// Throws std::runtime_error naming the file and what is wrong.
Policy load_policy(const std::filesystem::path& file);

/// Who is asking: the real uid, and SUDO_UID/SUDO_GID when sudo started us.
struct Caller {
  uid_t uid = 0;
  std::optional<uid_t> sudo_uid;
  std::optional<gid_t> sudo_gid;

  /// "root", or "uid 1001 via sudo"
  std::string describe() const;
};

/// The caller as the process sees it (getuid, SUDO_UID, SUDO_GID). Throws on a malformed
/// SUDO_UID/SUDO_GID.
Caller current_caller();

/// The policy file to use: `requested` only for a real root caller that did not come through
/// sudo; the default otherwise. Throws Refused when `requested` is set
/// and the caller may not choose.
std::filesystem::path policy_path_for(const std::optional<std::filesystem::path>& requested,
                                      const Caller& caller);

}  // namespace privileged
