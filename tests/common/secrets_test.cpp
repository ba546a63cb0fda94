// Secrets: environment variables and files, trimming, and errors that name the source only.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>

#include <string>

#include "common/config.hpp"
#include "common/secrets.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

common::Config config_with(std::vector<common::SecretSource> webhook, common::SecretSource database,
                           common::SecretSource token) {
  common::Config config;
  config.webhook_secrets = std::move(webhook);
  config.database_url = std::move(database);
  config.github.token = std::move(token);
  return config;
}

std::string message_of(auto&& body) {
  try {
    body();
  } catch (const common::SecretError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("secrets: environment variables") {
  using common::SecretSource;
  ::setenv("SECRETS_TEST_A", "alpha", 1);
  ::setenv("SECRETS_TEST_EMPTY", "", 1);
  ::unsetenv("SECRETS_TEST_UNSET");
  CHECK(common::read_secret(SecretSource::from_env("SECRETS_TEST_A")) == "alpha");
  CHECK_FALSE(common::read_secret(SecretSource::from_env("SECRETS_TEST_EMPTY")));
  CHECK_FALSE(common::read_secret(SecretSource::from_env("SECRETS_TEST_UNSET")));

  const auto config = config_with(
      {SecretSource::from_env("SECRETS_TEST_UNSET"), SecretSource::from_env("SECRETS_TEST_A")},
      SecretSource::from_env("SECRETS_TEST_A"), SecretSource::from_env("SECRETS_TEST_UNSET"));
  CHECK(common::webhook_secrets(config) == std::vector<std::string>{"alpha"});
  CHECK(common::database_url(config) == "alpha");
  CHECK_FALSE(common::github_token(config));
  ::unsetenv("SECRETS_TEST_A");
  ::unsetenv("SECRETS_TEST_EMPTY");
}

TEST_CASE("secrets: missing secrets are named but never shown") {
  using common::SecretSource;
  ::unsetenv("SECRETS_TEST_UNSET");
  ::setenv("SECRETS_TEST_EMPTY", "", 1);
  const auto config = config_with(
      {SecretSource::from_env("SECRETS_TEST_UNSET"), SecretSource::from_env("SECRETS_TEST_EMPTY")},
      SecretSource::from_env("SECRETS_TEST_UNSET"), SecretSource::from_env("SECRETS_TEST_UNSET"));
  CHECK(message_of([&] { common::webhook_secrets(config); }) ==
        "SECRETS_TEST_UNSET is not set; SECRETS_TEST_EMPTY is not set");
  CHECK(message_of([&] { common::database_url(config); }) == "SECRETS_TEST_UNSET is not set");
  const common::Config defaults;
  ::unsetenv("WEBHOOK_SECRET");
  CHECK(message_of([&] { common::webhook_secrets(defaults); }) == "WEBHOOK_SECRET is not set");
  ::unsetenv("SECRETS_TEST_EMPTY");
}

TEST_CASE("secrets: files are read whole minus trailing newlines") {
  using common::SecretSource;
  test::TempDir dir;
  test::write_file(dir / "hook", "s3cret value \r\n\n");
  test::write_file(dir / "plain", "no-newline");
  test::write_file(dir / "empty", "\n");
  CHECK(common::read_secret(SecretSource::from_file(dir / "hook")) == "s3cret value ");
  CHECK(common::read_secret(SecretSource::from_file(dir / "plain")) == "no-newline");
  CHECK_FALSE(common::read_secret(SecretSource::from_file(dir / "empty")));
  const auto config =
      config_with({SecretSource::from_file(dir / "empty")}, SecretSource::from_file(dir / "empty"),
                  SecretSource::from_file(dir / "plain"));
  CHECK(message_of([&] { common::webhook_secrets(config); }) ==
        "secret file " + (dir / "empty").string() + " is empty");
  CHECK(common::github_token(config) == "no-newline");
}

TEST_CASE("secrets: an unreadable file is an error naming the file") {
  using common::SecretSource;
  test::TempDir dir;
  const auto missing = dir / "missing";
  const auto message = message_of([&] { common::read_secret(SecretSource::from_file(missing)); });
  CHECK(message == "secret file " + missing.string() + ": cannot open: No such file or directory");
  const auto config =
      config_with({SecretSource::from_file(missing)}, SecretSource::from_file(missing),
                  SecretSource::from_file(missing));
  CHECK(message_of([&] { common::github_token(config); }) == message);
  CHECK(message_of([&] { common::webhook_secrets(config); }) == message);
  test::write_file(dir / "huge", std::string(70000, 'x'));
  CHECK(message_of([&] {
          common::read_secret(SecretSource::from_file(dir / "huge"));
        }).ends_with("is larger than 64 KiB"));
}
