// secrets.cpp: environment variables and secret files, trimmed, never echoed.
#include "common/secrets.hpp"

#include <algorithm>
#include <cstdlib>

#include "common/small_file.hpp"
#include "common/validate.hpp"

namespace common {
namespace {

constexpr std::size_t max_secret_bytes = 64 * 1024;

std::string read_file(const std::filesystem::path& path) {
  auto text = read_small_file(path, max_secret_bytes, "64 KiB");
  if (!text.ok()) {
    throw SecretError("secret file " + path.string() + ": " + text.error().message);
  }
  return std::move(text.value());
}

std::string not_set(const SecretSource& source) {
  return source.kind == SecretSource::Kind::env
             ? source.env + " is not set"
             : "secret file " + source.file.string() + " is empty";
}

}  // namespace

std::optional<std::string> read_secret(const SecretSource& source) {
  std::string value;
  if (source.kind == SecretSource::Kind::env) {
    const char* env = std::getenv(source.env.c_str());
    if (env == nullptr) return std::nullopt;
    value = env;
  } else {
    value = read_file(source.file);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  }
  if (value.empty()) return std::nullopt;
  return value;
}

std::vector<std::string> read_secrets(const std::vector<SecretSource>& sources) {
  std::vector<std::string> out;
  for (const auto& source : sources) {
    if (auto secret = read_secret(source)) out.push_back(std::move(*secret));
  }
  if (out.empty()) {
    std::string message;
    for (const auto& source : sources) message += (message.empty() ? "" : "; ") + not_set(source);
    throw SecretError(message.empty() ? "no webhook secret is configured" : message);
  }
  return out;
}

std::vector<std::string> webhook_secrets(const Config& config) {
  return read_secrets(config.webhook_secrets);
}

std::vector<SecretSource> webhook_secret_sources(const Config& config,
                                                 std::string_view repository) {
  std::vector<SecretSource> out;
  for (const auto& [name, deployment] : config.deployments) {
    if (!same_repository(deployment.repository, repository)) continue;
    for (const auto& source : deployment.webhook_secrets) {
      if (std::find(out.begin(), out.end(), source) == out.end()) out.push_back(source);
    }
  }
  return out.empty() ? config.webhook_secrets : out;
}

std::string database_url(const Config& config) {
  auto url = read_secret(config.database_url);
  if (!url) throw SecretError(not_set(config.database_url));
  return std::move(*url);
}

std::optional<std::string> github_token(const Config& config) {
  return read_secret(config.github.token);
}

}  // namespace common
