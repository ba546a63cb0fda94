// settings.hpp: what the request handler needs to know, derived once from the Config.
//
// make_settings() reads the webhook secrets (common::webhook_secrets: WEBHOOK_SECRET by default,
// and each repository's own deployments.*.webhook_secrets) and parses the allowlist and the
// trusted proxies, so the handler itself never touches the environment or the disk. It throws
// (one clear line, naming the variable or file) when a needed secret is not set: a receiver that
// cannot check signatures must not start. The secrets live only in this struct; nothing prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "common/config.hpp"

namespace receiver {

/// A repository with its own webhook secrets: deliveries naming it are checked against these
/// and nothing else.
struct RepositorySecrets {
  std::string repository;  ///< "owner/name" as configured (compared ignoring case)
  std::vector<std::string> secrets;
};

struct Settings {
  std::string instance;  ///< Config::instance, shown by GET /
  /// secrets.webhook: for deliveries naming a repository without its own secrets (several during
  /// a rotation). Empty only when every configured repository has its own.
  std::vector<std::string> secrets;
  std::vector<RepositorySecrets> repository_secrets;
  std::vector<common::Cidr> allow_cidrs;      ///< empty: every source address is allowed
  std::vector<common::Cidr> trusted_proxies;  ///< peers whose X-Forwarded-For is believed
  std::uint64_t body_limit_bytes = 26214400;
};

/// Builds the Settings. Throws std::runtime_error naming the missing secret's variable or file.
Settings make_settings(const common::Config& config);

}  // namespace receiver
