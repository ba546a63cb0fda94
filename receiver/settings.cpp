// settings.cpp: derive the handler's Settings from the validated Config (see settings.hpp).
#include "receiver/settings.hpp"

#include <algorithm>

#include "common/secrets.hpp"
#include "common/validate.hpp"

namespace receiver {
namespace {

std::vector<common::Cidr> parse_all(const std::vector<std::string>& texts) {
  std::vector<common::Cidr> out;
  for (const auto& text : texts) {
    // load_config validated every range with the same parser, so this cannot fail; value()
    // would still throw with the reason if it ever did.
    out.push_back(common::parse_cidr(text).value());
  }
  return out;
}

}  // namespace

Settings make_settings(const common::Config& config) {
  Settings settings;
  settings.instance = config.instance;
  bool default_needed = false;
  for (const auto& named : config.deployments) {
    // Not a structured binding: clang (the fuzz build) refuses to capture one in a lambda.
    const common::Deployment& deployment = named.second;
    if (deployment.webhook_secrets.empty()) {
      default_needed = true;
      continue;
    }
    const bool seen = std::any_of(
        settings.repository_secrets.begin(), settings.repository_secrets.end(), [&](const auto& r) {
          return common::same_repository(r.repository, deployment.repository);
        });
    if (seen) continue;
    try {
      settings.repository_secrets.push_back(
          {deployment.repository,
           common::read_secrets(common::webhook_secret_sources(config, deployment.repository))});
    } catch (const common::SecretError& e) {
      throw common::SecretError("deployments." + named.first + ".webhook_secrets: " + e.what());
    }
  }
  if (default_needed) {
    settings.secrets = common::webhook_secrets(config);  // throws when none is set
  } else {
    for (const auto& source : config.webhook_secrets) {
      if (auto secret = common::read_secret(source)) settings.secrets.push_back(std::move(*secret));
    }
  }
  settings.allow_cidrs = parse_all(config.receiver.allow_cidrs);
  settings.trusted_proxies = parse_all(config.receiver.trusted_proxies);
  settings.body_limit_bytes = config.receiver.body_limit_bytes;
  return settings;
}

}  // namespace receiver
