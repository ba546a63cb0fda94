// settings.hpp: what the request handler needs to know, derived once from the Config.
//
// make_settings() reads the webhook secrets (common::webhook_secrets: WEBHOOK_SECRET by default)
// and parses the allowlist, so the handler itself never touches the environment or the disk.
// It throws (one clear line, naming the variable or file) when no secret is set: a receiver
// that cannot check signatures must not start. The secrets live only in this struct; nothing
// prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "common/config.hpp"

namespace receiver {

struct Settings {
  std::string instance;              ///< Config::instance, shown by GET /
  std::vector<std::string> secrets;  ///< every accepted webhook secret (several during rotation)
  std::vector<common::Cidr> allow_cidrs;  ///< empty: every source address is allowed
  unsigned trusted_proxy_hops = 0;
  std::uint64_t body_limit_bytes = 26214400;
};

/// Builds the Settings. Throws std::runtime_error naming the missing secret's variable or file.
Settings make_settings(const common::Config& config);

}  // namespace receiver
