// secrets.hpp: read the secrets a Config points at (webhook secrets, database URL, GitHub token).
//
// Secrets are read when a program starts (or when it needs them), never stored in the Config and
// never logged: error messages name the variable or the file, not the value. A file source's
// content is taken whole, minus trailing newline characters ("\n" or "\r\n", as `echo` and
// editors leave them). An environment variable that is set but empty counts as not set: an
// empty HMAC key would accept signatures anyone can compute.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"

namespace common {

/// A secret that is required but missing, or a secret file that cannot be read.
class SecretError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The secret's value; nullopt when the variable is unset or empty, or the file is empty.
/// Throws SecretError naming the file when it cannot be read.
std::optional<std::string> read_secret(const SecretSource& source);

/// Every configured webhook secret that is set (rotation: several may be). Throws SecretError
/// ("WEBHOOK_SECRET is not set") when none is set, or when a file cannot be read.
std::vector<std::string> webhook_secrets(const Config& config);

/// Every secret of `sources` that is set. Throws SecretError naming each source when none is.
std::vector<std::string> read_secrets(const std::vector<SecretSource>& sources);

/// Where the secrets of deliveries naming `repository` come from: the webhook_secrets of every
/// deployment of that repository (compared as GitHub does, ignoring case), or secrets.webhook
/// when none of them has its own.
std::vector<SecretSource> webhook_secret_sources(const Config& config, std::string_view repository);

/// The libpq connection string. Throws SecretError ("DATABASE_URL is not set") when missing.
std::string database_url(const Config& config);

/// The GitHub token, or nullopt (commit statuses are then not posted). Throws SecretError only
/// when a configured file cannot be read.
std::optional<std::string> github_token(const Config& config);

}  // namespace common
