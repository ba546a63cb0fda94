// settings.cpp: derive the handler's Settings from the validated Config (see settings.hpp).
#include "receiver/settings.hpp"

#include "common/secrets.hpp"

namespace receiver {

Settings make_settings(const common::Config& config) {
  Settings settings;
  settings.instance = config.instance;
  settings.secrets = common::webhook_secrets(config);
  for (const auto& text : config.receiver.allow_cidrs) {
    // load_config validated every range with the same parser, so this cannot fail; value()
    // would still throw with the reason if it ever did.
    settings.allow_cidrs.push_back(common::parse_cidr(text).value());
  }
  settings.trusted_proxy_hops = config.receiver.trusted_proxy_hops;
  settings.body_limit_bytes = config.receiver.body_limit_bytes;
  return settings;
}

}  // namespace receiver
