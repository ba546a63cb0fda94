// secrets.cpp: environment variables and secret files, trimmed, never echoed.
#include "common/secrets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace common {
namespace {

constexpr std::size_t max_secret_bytes = 64 * 1024;

std::string read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw SecretError("cannot read secret file " + path.string() + ": " + std::strerror(errno));
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw SecretError("cannot read secret file " + path.string() + ": " + std::strerror(error));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_secret_bytes) {
      ::close(fd);
      throw SecretError("secret file " + path.string() + " is larger than 64 KiB");
    }
  }
  ::close(fd);
  return text;
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

std::vector<std::string> webhook_secrets(const Config& config) {
  std::vector<std::string> out;
  for (const auto& source : config.webhook_secrets) {
    if (auto secret = read_secret(source)) out.push_back(std::move(*secret));
  }
  if (out.empty()) {
    std::string message;
    for (const auto& source : config.webhook_secrets) {
      message += (message.empty() ? "" : "; ") + not_set(source);
    }
    throw SecretError(message.empty() ? "no webhook secret is configured" : message);
  }
  return out;
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
