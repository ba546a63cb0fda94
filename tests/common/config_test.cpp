// Configuration: defaults, path resolution, and one test per class of error, each checking that
// the message names the file and the key path.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "tests/support/temp_dir.hpp"

using nlohmann::json;

namespace {

const std::string file = "conf/deployer.json";

json minimal() {
  return json::parse(R"({
    "instance": "test",
    "state_dir": "var",
    "deployments": {
      "app": { "repository": "o/r", "branch": "main", "path": "/srv/app", "steps": [] }
    }
  })");
}

json with_step(json step) {
  auto config = minimal();
  config["deployments"]["app"]["steps"] = json::array({std::move(step)});
  return config;
}

common::Config load(const json& config) {
  return common::parse_config(config.dump(), file);
}

// The error message parse_config gives, or "" when it accepts the document.
std::string error_of_text(const std::string& text) {
  try {
    common::parse_config(text, file);
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}
std::string error_of(const json& config) {
  return error_of_text(config.dump());
}

}  // namespace

TEST_CASE("config: a minimal file gets every default") {
  const auto config = load(minimal());
  const auto folder = std::filesystem::current_path() / "conf";
  CHECK(config.file == folder / "deployer.json");
  CHECK(config.instance == "test");
  CHECK(config.state_dir == folder / "var");
  CHECK(config.listen.host == "127.0.0.1");
  CHECK(config.listen.port == 3400);
  CHECK_FALSE(config.allow_root);
  REQUIRE(config.webhook_secrets.size() == 1);
  CHECK(config.webhook_secrets[0] == common::SecretSource::from_env("WEBHOOK_SECRET"));
  CHECK(config.database_url == common::SecretSource::from_env("DATABASE_URL"));
  CHECK(config.github.api_url == "https://api.github.com");
  CHECK(config.github.token == common::SecretSource::from_env("GITHUB_TOKEN"));
  CHECK(config.receiver.body_limit_bytes == 26214400);
  CHECK(config.receiver.header_limit_bytes == 16384);
  CHECK(config.receiver.read_timeout() == std::chrono::seconds(10));
  CHECK(config.receiver.idle_timeout_s == 60);
  CHECK(config.receiver.max_connections == 512);
  CHECK(config.receiver.publish_threads == 8);
  CHECK(config.receiver.allow_cidrs.empty());
  CHECK(config.receiver.trusted_proxies.empty());
  CHECK(config.receiver.max_connections_per_ip == 512);  // max_connections unless set
  CHECK(config.receiver.max_buffered_bytes == 64 << 20);
  CHECK(config.router.settle() == std::chrono::milliseconds(2000));
  CHECK(config.router.rescan_s == 30);
  CHECK(config.retention.done_max_age_days == 30);
  CHECK(config.retention.done_max_count == 1000);
  const auto& app = config.deployment("app");
  CHECK(app.name == "app");
  CHECK(app.repository == "o/r");
  CHECK(app.branch == "main");
  CHECK(app.path == "/srv/app");
  CHECK(app.enabled);
  CHECK(app.remote == "origin");
  CHECK(app.coalesce);
  CHECK_FALSE(app.tags);
  CHECK_FALSE(app.deletions);
  CHECK(app.env.empty());
  CHECK(app.steps.empty());
}

TEST_CASE("config: every key can be set") {
  auto config = minimal();
  config["listen"] = {{"host", "::1"}, {"port", 0}};
  config["allow_root"] = true;
  config["secrets"] = {{"webhook", {{{"env", "NEW_SECRET"}}, {{"file", "secret.txt"}}}}};
  config["database"] = {{"url", {{"file", "/etc/deployer/db"}}}};
  config["github"] = {{"api_url", "http://127.0.0.1:9/api/"}, {"token", {{"env", "TOKEN"}}}};
  config["receiver"] = {{"body_limit_bytes", 1000},
                        {"header_limit_bytes", 2048},
                        {"read_timeout_s", 1},
                        {"idle_timeout_s", 2},
                        {"max_connections", 3},
                        {"publish_threads", 4},
                        {"max_connections_per_ip", 2},
                        {"max_buffered_bytes", 2 << 20},
                        {"allow_cidrs", {"10.0.0.0/8", "::1"}},
                        {"trusted_proxies", {"127.0.0.1/32"}}};
  config["router"] = {{"settle_ms", 0}, {"rescan_s", 5}};
  config["retention"] = {{"done_max_age_days", 7}, {"done_max_count", 10}};
  auto& app = config["deployments"]["app"];
  app["enabled"] = false;
  app["remote"] = "../upstream.git";
  app["coalesce"] = false;
  app["tags"] = true;
  app["deletions"] = true;
  app["env"] = {{"INSTANCE_NAME", "x"}, {"_comment", "ignored"}};
  app["steps"] = {{{"name", "build"},
                   {"run", {"make", "-j2"}},
                   {"timeout_s", 60},
                   {"only_if_changed", {"src/**"}},
                   {"env", {{"CC", "gcc"}}}},
                  {{"name", "script"}, {"run", {"echo a && echo b"}}, {"shell", true}}};
  const auto loaded = load(config);
  const auto folder = std::filesystem::current_path() / "conf";
  CHECK(loaded.listen.host == "::1");
  CHECK(loaded.listen.port == 0);
  CHECK(loaded.allow_root);
  REQUIRE(loaded.webhook_secrets.size() == 2);
  CHECK(loaded.webhook_secrets[1] == common::SecretSource::from_file(folder / "secret.txt"));
  CHECK(loaded.database_url == common::SecretSource::from_file("/etc/deployer/db"));
  CHECK(loaded.github.api_url == "http://127.0.0.1:9/api");
  CHECK(loaded.github.token.env == "TOKEN");
  CHECK(loaded.receiver.body_limit_bytes == 1000);
  CHECK(loaded.receiver.allow_cidrs == std::vector<std::string>{"10.0.0.0/8", "::1"});
  CHECK(loaded.receiver.trusted_proxies == std::vector<std::string>{"127.0.0.1/32"});
  CHECK(loaded.receiver.max_connections_per_ip == 2);
  CHECK(loaded.receiver.max_buffered_bytes == 2 << 20);
  CHECK(loaded.router.settle_ms == 0);
  CHECK(loaded.retention.done_max_age() == std::chrono::hours(24 * 7));
  const auto& d = loaded.deployment("app");
  CHECK_FALSE(d.enabled);
  CHECK(d.remote == (std::filesystem::current_path() / "upstream.git").string());
  CHECK(d.env == std::map<std::string, std::string>{{"INSTANCE_NAME", "x"}});
  REQUIRE(d.steps.size() == 2);
  CHECK(d.steps[0].run == std::vector<std::string>{"make", "-j2"});
  CHECK(d.steps[0].timeout == std::chrono::seconds(60));
  CHECK(d.steps[0].only_if_changed == std::vector<std::string>{"src/**"});
  CHECK(d.steps[0].env.at("CC") == "gcc");
  CHECK(d.steps[1].shell);
  CHECK(d.steps[1].timeout == std::chrono::seconds(900));
  CHECK(d.steps[1].only_if_changed.empty());
}

TEST_CASE("config: relative paths resolve against the file's folder") {
  test::TempDir dir;
  auto config = minimal();
  config["state_dir"] = "../state";
  config["deployments"]["app"]["path"] = "www/./app/";
  config["secrets"] = {{"webhook", {{{"file", "secrets/hook"}}}}};
  std::filesystem::create_directories(dir / "etc");
  test::write_file(dir / "etc/deployer.json", config.dump());
  const auto loaded = common::load_config(dir / "etc/deployer.json");
  CHECK(loaded.file == dir / "etc/deployer.json");
  CHECK(loaded.state_dir == dir / "state");
  CHECK(loaded.deployment("app").path == dir / "etc/www/app");
  CHECK(loaded.webhook_secrets[0].file == dir / "etc/secrets/hook");
}

TEST_CASE("config: DEPLOYER_CONFIG names the default file") {
  ::unsetenv("DEPLOYER_CONFIG");
  CHECK(common::default_config_path() == "config/deployer.json");
  ::setenv("DEPLOYER_CONFIG", "", 1);
  CHECK(common::default_config_path() == "config/deployer.json");
  ::setenv("DEPLOYER_CONFIG", "/etc/deployer/deployer.json", 1);
  CHECK(common::default_config_path() == "/etc/deployer/deployer.json");
  ::unsetenv("DEPLOYER_CONFIG");
}

TEST_CASE("config: unreadable and non-JSON files") {
  test::TempDir dir;
  try {
    common::load_config(dir / "missing.json");
    FAIL("no error");
  } catch (const common::ConfigError& e) {
    CHECK(std::string(e.what()) ==
          (dir / "missing.json").string() + ": cannot open: No such file or directory");
  }
  try {
    common::load_config(dir.path());
    FAIL("no error");
  } catch (const common::ConfigError& e) {
    CHECK(std::string(e.what()).find("cannot read: Is a directory") != std::string::npos);
  }
  CHECK(error_of_text("{\"instance\": }").starts_with(file + ": not valid JSON: line 1, column"));
  CHECK(error_of_text("").starts_with(file + ": not valid JSON: "));
  CHECK(error_of_text("[]") == file + ": must be a JSON object");
  CHECK(error_of_text(std::string(100, '[') + std::string(100, ']')) ==
        file + ": not valid JSON: nesting deeper than 64 at byte 65");
  CHECK(error_of_text("{\"instance\":\"a\",\"instance\":\"b\"}") ==
        file + ": not valid JSON: duplicate key \"instance\"");
}

TEST_CASE("config: missing required keys") {
  for (const char* key : {"instance", "state_dir", "deployments"}) {
    auto config = minimal();
    config.erase(key);
    CHECK(error_of(config) == file + ": " + key + ": is required");
  }
  for (const char* key : {"repository", "branch", "path", "steps"}) {
    auto config = minimal();
    config["deployments"]["app"].erase(key);
    CHECK(error_of(config) == file + ": deployments.app." + key + ": is required");
  }
  CHECK(error_of(with_step({{"run", {"true"}}})) ==
        file + ": deployments.app.steps[0].name: is required");
  CHECK(error_of(with_step({{"name", "x"}})) ==
        file + ": deployments.app.steps[0].run: is required");
  auto none = minimal();
  none["deployments"] = json::object({{"_comment", "nothing yet"}});
  CHECK(error_of(none) == file + ": deployments: must define at least one deployment");
}

TEST_CASE("config: wrong types") {
  auto config = minimal();
  config["instance"] = 5;
  CHECK(error_of(config) == file + ": instance: must be a string");
  config = minimal();
  config["instance"] = "";
  CHECK(error_of(config) == file + ": instance: must not be empty");
  config = minimal();
  config["allow_root"] = "yes";
  CHECK(error_of(config) == file + ": allow_root: must be true or false");
  config = minimal();
  config["listen"] = {{"port", "3400"}};
  CHECK(error_of(config) == file + ": listen.port: must be an integer from 0 to 65535");
  config = minimal();
  config["listen"] = {{"port", 3400.5}};
  CHECK(error_of(config) == file + ": listen.port: must be an integer from 0 to 65535");
  config = minimal();
  config["receiver"] = 1;
  CHECK(error_of(config) == file + ": receiver: must be an object");
  config = minimal();
  config["deployments"]["app"]["enabled"] = 1;
  CHECK(error_of(config) == file + ": deployments.app.enabled: must be true or false");
  config = minimal();
  config["deployments"]["app"]["steps"] = json::object();
  CHECK(error_of(config) == file + ": deployments.app.steps: must be an array of steps");
  config = minimal();
  config["state_dir"] = json::array();
  CHECK(error_of(config) == file + ": state_dir: must be a path (a string)");
  config = minimal();
  config["deployments"]["app"]["env"] = {{"A", 1}};
  CHECK(error_of(config) == file + ": deployments.app.env.A: must be a string");
  CHECK(error_of(
            with_step({{"name", "x"}, {"run", {"a"}}, {"env", {{"A", std::string("a\0b", 3)}}}})) ==
        file + ": deployments.app.steps[0].env.A: must not contain a NUL character");
}

TEST_CASE("config: unknown keys are errors but _comments are not") {
  auto config = minimal();
  config["_comment"] = "fine";
  config["deployments"]["app"]["_note"] = {{"anything", 1}};
  CHECK(error_of(config).empty());
  config["bogus"] = 1;
  CHECK(error_of(config) == file + ": bogus: unknown key");
  config = minimal();
  config["deployments"]["app"]["brnch"] = "main";
  CHECK(error_of(config) == file + ": deployments.app.brnch: unknown key");
  config = minimal();
  config["receiver"] = {{"body_limit", 1}};
  CHECK(error_of(config) == file + ": receiver.body_limit: unknown key");
  CHECK(error_of(with_step({{"name", "x"}, {"run", {"a"}}, {"timeout", 5}})) ==
        file + ": deployments.app.steps[0].timeout: unknown key");
}

TEST_CASE("config: bad deployment names and repositories and branches") {
  for (const char* name : {"bad.name", "-x", "a/b", "..", "caf\xc3\xa9"}) {
    auto config = minimal();
    config["deployments"][name] = config["deployments"]["app"];
    INFO(name);
    CHECK(error_of(config).starts_with(file + ": deployments." + name +
                                       ": is not a valid deployment name: "));
  }
  for (const char* repository : {"durhack", "o/..", "-o/r", "o/r;x", "o/r/x"}) {
    auto config = minimal();
    config["deployments"]["app"]["repository"] = repository;
    INFO(repository);
    CHECK(error_of(config).starts_with(file + ": deployments.app.repository: "));
  }
  for (const char* branch : {"a..b", "-x", "x.lock", "a b", "", "$(id)", "refs/heads/../x/"}) {
    auto config = minimal();
    config["deployments"]["app"]["branch"] = branch;
    INFO(branch);
    CHECK(error_of(config).starts_with(file + ": deployments.app.branch: "));
  }
  auto config = minimal();
  config["deployments"]["app"]["branch"] = "a..b";
  CHECK(error_of(config) == file + ": deployments.app.branch: must not contain \"..\"");
}

TEST_CASE("config: steps need a non-empty argv") {
  const std::string message =
      file + ": deployments.app.steps[0].run: must be a non-empty array of non-empty strings";
  CHECK(error_of(with_step({{"name", "x"}, {"run", json::array()}})) == message);
  CHECK(error_of(with_step({{"name", "x"}, {"run", {""}}})) == message);
  CHECK(error_of(with_step({{"name", "x"}, {"run", {"ls", 5}}})) == message);
  CHECK(error_of(with_step({{"name", "x"}, {"run", "ls -l"}})) == message);
  CHECK(error_of(with_step({{"name", "x"}, {"run", {"a", "b"}}, {"shell", true}})) ==
        file +
            ": deployments.app.steps[0].run: must be [\"script text\"] (exactly one string) "
            "when \"shell\" is true");
  CHECK(error_of(with_step({{"name", "x"}, {"run", {"a"}}, {"only_if_changed", json::array()}})) ==
        file +
            ": deployments.app.steps[0].only_if_changed: must be a non-empty array of "
            "non-empty strings");
  CHECK(error_of(with_step({{"name", "a/b"}, {"run", {"a"}}}))
            .starts_with(file + ": deployments.app.steps[0].name: must contain only"));
  auto twice = minimal();
  twice["deployments"]["app"]["steps"] = {{{"name", "x"}, {"run", {"a"}}},
                                          {{"name", "x"}, {"run", {"b"}}}};
  CHECK(error_of(twice) ==
        file + ": deployments.app.steps[1].name: \"x\" is already the name of an earlier step");
}

TEST_CASE("config: timeouts and other numbers are range-checked") {
  for (auto bad : {json(0), json(-5), json(1.5), json(604801), json("60")}) {
    INFO(bad.dump());
    CHECK(error_of(with_step({{"name", "x"}, {"run", {"a"}}, {"timeout_s", bad}})) ==
          file + ": deployments.app.steps[0].timeout_s: must be an integer from 1 to 604800");
  }
  auto config = minimal();
  config["listen"] = {{"port", 65536}};
  CHECK(error_of(config) == file + ": listen.port: must be an integer from 0 to 65535");
  config = minimal();
  config["listen"] = {{"port", -1}};
  CHECK(error_of(config) == file + ": listen.port: must be an integer from 0 to 65535");
  config = minimal();
  config["receiver"] = {{"read_timeout_s", 0}};
  CHECK(error_of(config) == file + ": receiver.read_timeout_s: must be an integer from 1 to 3600");
  config = minimal();
  config["receiver"] = {{"body_limit_bytes", 18446744073709551615ull}};
  CHECK(error_of(config).starts_with(file + ": receiver.body_limit_bytes: must be an integer"));
  config = minimal();
  config["router"] = {{"rescan_s", 0}};
  CHECK(error_of(config) == file + ": router.rescan_s: must be an integer from 1 to 86400");
  config = minimal();
  config["retention"] = {{"done_max_count", -1}};
  CHECK(error_of(config).starts_with(file + ": retention.done_max_count: must be an integer"));
}

TEST_CASE("config: allow_cidrs are validated") {
  auto config = minimal();
  config["receiver"] = {{"allow_cidrs", {"10.0.0.0/8", "bogus"}}};
  CHECK(error_of(config) == file +
                                ": receiver.allow_cidrs[1]: is not an IPv4 or IPv6 address or "
                                "CIDR network");
  config["receiver"] = {{"allow_cidrs", {"192.168.1.1/24"}}};
  CHECK(error_of(config) ==
        file + ": receiver.allow_cidrs[0]: has address bits set beyond its /24 prefix");
  config["receiver"] = {{"allow_cidrs", {"10.0.0.0/33"}}};
  CHECK(error_of(config) ==
        file + ": receiver.allow_cidrs[0]: has an invalid prefix length (0-32)");
  config["receiver"] = {{"allow_cidrs", "10.0.0.0/8"}};
  CHECK(error_of(config) == file + ": receiver.allow_cidrs: must be an array of CIDR strings");
}

TEST_CASE("config: secret sources are {env} or {file}") {
  const std::string shape = "must be {\"env\": \"VARIABLE\"} or {\"file\": \"path\"}";
  auto with_source = [](json source) {
    auto config = minimal();
    config["database"] = {{"url", std::move(source)}};
    return config;
  };
  CHECK(error_of(with_source("DATABASE_URL")) == file + ": database.url: " + shape);
  CHECK(error_of(with_source(json::object())) ==
        file + ": database.url: " + shape + " (exactly one of the two)");
  CHECK(error_of(with_source({{"env", "A"}, {"file", "b"}})) ==
        file + ": database.url: " + shape + " (exactly one of the two)");
  CHECK(error_of(with_source({{"vault", "x"}})) == file + ": database.url.vault: unknown key");
  CHECK(error_of(with_source({{"env", "1X"}}))
            .starts_with(file + ": database.url.env: is not a valid environment variable name"));
  CHECK(error_of(with_source({{"env", ""}})) == file + ": database.url.env: must not be empty");
  CHECK(error_of(with_source({{"file", ""}})) == file + ": database.url.file: must not be empty");
  auto config = minimal();
  config["secrets"] = {{"webhook", json::array()}};
  CHECK(error_of(config).starts_with(file + ": secrets.webhook: must be a non-empty array"));
  config["secrets"] = {{"webhook", {{{"env", "A"}}, {{"env", "B"}, {"file", "x"}}}}};
  CHECK(error_of(config).starts_with(file + ": secrets.webhook[1]: "));
  config = minimal();
  config["github"] = {{"token", {{"env", "A-B"}}}};
  CHECK(error_of(config).starts_with(file + ": github.token.env: "));
}

TEST_CASE("config: other values with rules") {
  auto config = minimal();
  config["github"] = {{"api_url", "ftp://example.com"}};
  CHECK(error_of(config) == file + ": github.api_url: must start with https:// or http://");
  config["github"] = {{"api_url", "https://"}};
  CHECK(error_of(config) == file + ": github.api_url: has no host");
  // The token is sent with every request: plain HTTP only to this machine.
  for (const char* url :
       {"http://api.example.com", "http://10.0.0.1/api", "http://127.0.0.1.evil.com",
        "http://[::2]:80", "http://localhost.evil.com"}) {
    config["github"] = {{"api_url", url}};
    CHECK_THAT(error_of(config),
               Catch::Contains("github.api_url: http:// is allowed only for a loopback host"));
  }
  for (const char* url : {"http://127.0.0.1:9", "http://127.1.2.3/api", "http://[::1]:8080",
                          "http://localhost:9", "https://api.example.com"}) {
    config["github"] = {{"api_url", url}};
    CHECK_NOTHROW(load(config));
  }
  config.erase("github");
  config["receiver"] = {{"trusted_proxy_hops", 1}};
  CHECK(error_of(config) ==
        file +
            ": receiver.trusted_proxy_hops: was replaced by receiver.trusted_proxies (the CIDRs "
            "of the proxies whose X-Forwarded-For is believed, e.g. [\"127.0.0.1/32\"] for a "
            "local nginx)");
  config["receiver"] = {{"trusted_proxies", {"10.0.0.1/8"}}};
  CHECK_THAT(error_of(config), Catch::Contains("receiver.trusted_proxies[0]"));
  config.erase("receiver");
  config["deployments"]["app"]["webhook_secrets"] = nlohmann::json::array();
  CHECK_THAT(error_of(config),
             Catch::Contains("deployments.app.webhook_secrets: must be a non-empty"));
  config["deployments"]["app"]["webhook_secrets"] = {{{"env", "APP_SECRET"}}};
  CHECK(load(config).deployment("app").webhook_secrets ==
        std::vector<common::SecretSource>{common::SecretSource::from_env("APP_SECRET")});
  config["deployments"]["app"].erase("webhook_secrets");
  config = minimal();
  config["listen"] = {{"host", "127.0.0.1; rm"}};
  CHECK(error_of(config) == file + ": listen.host: must be an IP address or a host name");
  config = minimal();
  config["deployments"]["app"]["remote"] = "--upload-pack=touch /tmp/x";
  CHECK(error_of(config) == file + ": deployments.app.remote: must not start with '-'");
  config = minimal();
  config["deployments"]["app"]["env"] = {{"1BAD", "x"}};
  CHECK(error_of(config).starts_with(
      file + ": deployments.app.env.1BAD: is not a valid environment variable name"));
  config = minimal();
  config["instance"] = "a\nb";
  CHECK(error_of(config) == file + ": instance: must not contain control characters");
}

TEST_CASE("config: deployment lookup names the missing deployment") {
  const auto config = load(minimal());
  CHECK(&config.deployment("app") == &config.deployments.at("app"));
  try {
    (void)config.deployment("nope");
    FAIL("no error");
  } catch (const common::ConfigError& e) {
    CHECK(std::string(e.what()).ends_with(
        "deployer.json: deployments: no deployment named \"nope\" (known: app)"));
  }
}

TEST_CASE("config: to_json_masked shows sources but never secrets and loads back") {
  ::setenv("MASK_TEST_SECRET", "hunter2-very-secret", 1);
  auto config = minimal();
  config["secrets"] = {{"webhook", {{{"env", "MASK_TEST_SECRET"}}}}};
  config["deployments"]["app"]["steps"] = {{{"name", "x"}, {"run", {"a"}}}};
  const auto loaded = load(config);
  const auto masked = common::to_json_masked(loaded);
  const auto text = masked.dump();
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(masked["secrets"]["webhook"][0] == json{{"env", "MASK_TEST_SECRET"}});
  CHECK(masked["database"]["url"] == json{{"env", "DATABASE_URL"}});
  CHECK(masked["receiver"]["body_limit_bytes"] == 26214400);
  CHECK(masked["deployments"]["app"]["steps"][0]["timeout_s"] == 900);
  // The output is itself a valid configuration with the same meaning.
  const auto again = common::parse_config(text, file);
  CHECK(common::to_json_masked(again) == masked);
  ::unsetenv("MASK_TEST_SECRET");
}

namespace {

json release_mode() {
  auto config = minimal();
  auto& app = config["deployments"]["app"];
  app["remote"] = "https://github.com/o/r.git";
  app["releases"] = json::object();
  return config;
}

}  // namespace

TEST_CASE("config: release mode keys get their defaults") {
  const auto loaded = load(release_mode());
  const auto& app = loaded.deployment("app");
  REQUIRE(app.releases);
  CHECK(app.releases->keep == 5);
  CHECK(app.releases->shared.empty());
  CHECK(app.releases->reuse.empty());
  CHECK_FALSE(app.preflight);
  CHECK(app.activate.empty());
  CHECK_FALSE(app.health_check);
  CHECK_FALSE(load(minimal()).deployment("app").releases);
}

TEST_CASE("config: every release mode key can be set") {
  auto config = release_mode();
  auto& app = config["deployments"]["app"];
  app["steps"] = {{{"name", "install"}, {"run", {"npm", "ci"}}}};
  app["releases"] = {
      {"keep", 3},
      {"shared", {".env", "storage/uploads"}},
      {"reuse", {{{"path", "node_modules"}, {"unless_changed", {"package-lock.json"}}}}}};
  app["preflight"] = {{"run", {"node", "server.js"}},
                      {"port_env", "PORT"},
                      {"path", "/up"},
                      {"timeout_s", 20},
                      {"interval_ms", 100},
                      {"successes", 2},
                      {"env", {{"NODE_ENV", "production"}}}};
  app["activate"] = {
      {{"name", "reload"}, {"run", {"pm2", "startOrReload", "e.js"}}, {"timeout_s", 60}}};
  app["health_check"] = {{"url", "http://127.0.0.1:3000/up"},
                         {"expect_status", 204},
                         {"expect_body", "${DEPLOY_SHA}"},
                         {"timeout_s", 10},
                         {"interval_ms", 50},
                         {"successes", 3}};
  const auto loaded = load(config);
  const auto& d = loaded.deployment("app");
  REQUIRE(d.releases);
  CHECK(d.releases->keep == 3);
  CHECK(d.releases->shared == std::vector<std::string>{".env", "storage/uploads"});
  REQUIRE(d.releases->reuse.size() == 1);
  CHECK(d.releases->reuse[0].path == "node_modules");
  CHECK(d.releases->reuse[0].unless_changed == std::vector<std::string>{"package-lock.json"});
  REQUIRE(d.preflight);
  CHECK(d.preflight->step.name == "preflight");
  CHECK(d.preflight->step.run == std::vector<std::string>{"node", "server.js"});
  CHECK(d.preflight->step.timeout == std::chrono::seconds(20));
  CHECK(d.preflight->step.env.at("NODE_ENV") == "production");
  CHECK(d.preflight->port_env == "PORT");
  CHECK(d.preflight->path == "/up");
  CHECK(d.preflight->poll.timeout == std::chrono::seconds(20));
  CHECK(d.preflight->poll.interval == std::chrono::milliseconds(100));
  CHECK(d.preflight->poll.successes == 2);
  REQUIRE(d.activate.size() == 1);
  CHECK(d.activate[0].name == "reload");
  CHECK(d.activate[0].timeout == std::chrono::seconds(60));
  REQUIRE(d.health_check);
  CHECK(d.health_check->url == "http://127.0.0.1:3000/up");
  CHECK(d.health_check->expect_status == 204);
  CHECK(d.health_check->expect_body == "${DEPLOY_SHA}");
  CHECK(d.health_check->poll.timeout == std::chrono::seconds(10));
  CHECK(d.health_check->poll.interval == std::chrono::milliseconds(50));
  CHECK(d.health_check->poll.successes == 3);
  // check-config's output loads back with the same meaning.
  const auto masked = common::to_json_masked(loaded);
  CHECK(masked["deployments"]["app"]["releases"]["keep"] == 3);
  CHECK(masked["deployments"]["app"]["health_check"]["expect_body"] == "${DEPLOY_SHA}");
  CHECK(common::to_json_masked(common::parse_config(masked.dump(), file)) == masked);
  // Without release mode the keys are not printed at all.
  CHECK_FALSE(common::to_json_masked(load(minimal()))["deployments"]["app"].contains("releases"));
}

TEST_CASE("config: release mode defaults of preflight and health_check") {
  auto config = release_mode();
  auto& app = config["deployments"]["app"];
  app["preflight"] = {{"run", {"node", "server.js"}}, {"port_env", "PORT"}};
  app["health_check"] = {{"url", "http://localhost/"}};
  const auto loaded = load(config);
  const auto& d = loaded.deployment("app");
  CHECK(d.preflight->path == "/");
  CHECK(d.preflight->poll.timeout == std::chrono::seconds(30));
  CHECK(d.preflight->poll.interval == std::chrono::milliseconds(250));
  CHECK(d.preflight->poll.successes == 1);
  CHECK_FALSE(d.preflight->step.shell);
  CHECK(d.health_check->expect_status == 200);
  CHECK_FALSE(d.health_check->expect_body);
  CHECK(d.health_check->poll.timeout == std::chrono::seconds(30));
  CHECK(d.health_check->poll.successes == 1);
}

TEST_CASE("config: release mode needs a URL or path remote") {
  auto config = release_mode();
  config["deployments"]["app"].erase("remote");
  CHECK(error_of(config) == file +
                                ": deployments.app.remote: is required when \"releases\" is set "
                                "(a URL or a path)");
  config["deployments"]["app"]["remote"] = "origin";
  CHECK(error_of(config).starts_with(
      file + ": deployments.app.remote: must be a URL or a path when \"releases\" is set"));
  for (const char* remote :
       {"/srv/git/r.git", "../r.git", "git@github.com:o/r.git", "file:///srv/r.git"}) {
    config["deployments"]["app"]["remote"] = remote;
    INFO(remote);
    CHECK(error_of(config).empty());
  }
}

TEST_CASE("config: preflight, activate and health_check require releases") {
  for (const char* key : {"preflight", "activate", "health_check"}) {
    auto config = minimal();
    config["deployments"]["app"][key] =
        key == std::string("activate") ? json::array() : json::object();
    INFO(key);
    CHECK(error_of(config) ==
          file + ": deployments.app." + key + ": requires \"releases\" (release mode)");
  }
}

TEST_CASE("config: bad release mode values name their key") {
  auto bad = [](const std::function<void(json&)>& change) {
    auto config = release_mode();
    change(config["deployments"]["app"]);
    return error_of(config);
  };
  const std::string at = file + ": deployments.app.";
  CHECK(bad([](json& a) {
          a["releases"] = {{"keep", 0}};
        }) == at + "releases.keep: must be an integer from 1 to 1000");
  CHECK(bad([](json& a) { a["releases"] = {{"kept", 2}}; }) == at + "releases.kept: unknown key");
  CHECK(bad([](json& a) { a["releases"] = json::array(); }) == at + "releases: must be an object");
  for (const char* path : {"/etc/passwd", "../x", "a/../../x", "a//b", "./x", "x/", "REVISION"}) {
    INFO(path);
    CHECK(bad([&](json& a) {
            a["releases"] = {{"shared", {path}}};
          }).starts_with(at + "releases.shared[0]: must "));
  }
  CHECK(bad([](json& a) {
          a["releases"] = {{"shared", {".env", ".env"}}};
        }) == at + "releases.shared[1]: is listed twice");
  CHECK(bad([](json& a) {
          a["releases"] = {{"shared", {"node_modules"}},
                           {"reuse", {{{"path", "node_modules"}, {"unless_changed", {"x"}}}}}};
        }) ==
        at + "releases.reuse[0].path: is already listed in releases.shared or releases.reuse");
  CHECK(bad([](json& a) {
          a["releases"] = {{"reuse", {{{"path", "node_modules"}}}}};
        }) == at + "releases.reuse[0].unless_changed: is required");
  CHECK(bad([](json& a) {
          a["releases"] = {{"reuse", {{{"path", "nm"}, {"unless_changed", json::array()}}}}};
        }) ==
        at + "releases.reuse[0].unless_changed: must be a non-empty array of non-empty strings");
  CHECK(bad([](json& a) {
          a["preflight"] = {{"run", {"node"}}};
        }) == at + "preflight.port_env: is required");
  CHECK(bad([](json& a) {
          a["preflight"] = {{"port_env", "PORT"}};
        }) == at + "preflight.run: is required");
  CHECK(bad([](json& a) {
          a["preflight"] = {{"run", {"node"}}, {"port_env", "1X"}};
        }).starts_with(at + "preflight.port_env: is not a valid environment variable name"));
  CHECK(bad([](json& a) {
          a["preflight"] = {{"run", {"node"}}, {"port_env", "PORT"}, {"path", "up"}};
        }) == at + "preflight.path: must start with '/'");
  CHECK(bad([](json& a) {
          a["preflight"] = {{"run", {"node"}}, {"port_env", "PORT"}, {"successes", 0}};
        }) == at + "preflight.successes: must be an integer from 1 to 100");
  CHECK(bad([](json& a) {
          a["preflight"] = {{"run", {"a", "b"}}, {"port_env", "PORT"}, {"shell", true}};
        }).starts_with(at + "preflight.run: must be [\"script text\"]"));
  CHECK(bad([](json& a) {
          a["health_check"] = {{"url", "ftp://x/"}};
        }) == at + "health_check.url: must start with http:// or https://");
  CHECK(bad([](json& a) {
          a["health_check"] = {{"url", "http:///up"}};
        }) == at + "health_check.url: has no host");
  CHECK(bad([](json& a) {
          a["health_check"] = {{"url", "http://x/"}, {"expect_status", 99}};
        }) == at + "health_check.expect_status: must be an integer from 100 to 599");
  CHECK(bad([](json& a) {
          a["health_check"] = {{"url", "http://x/"}, {"interval_ms", 1}};
        }) == at + "health_check.interval_ms: must be an integer from 10 to 60000");
  CHECK(bad([](json& a) {
          a["health_check"] = {{"expect_status", 200}};
        }) == at + "health_check.url: is required");
  CHECK(bad([](json& a) {
          a["steps"] = {{{"name", "build"}, {"run", {"make"}}}};
          a["activate"] = {{{"name", "build"}, {"run", {"pm2", "reload"}}}};
        }) == at + "activate[0].name: \"build\" is already the name of an earlier step");
  CHECK(bad([](json& a) {
          a["activate"] = {{{"name", "x"}}};
        }) == at + "activate[0].run: is required");
}

TEST_CASE("config: path filters, retry and wait_for_checks, their checks and defaults") {
  auto config = minimal();
  auto& app = config["deployments"]["app"];
  app["paths"] = json::array({"server/**"});
  app["ignore_paths"] = json::array({"**/*.md"});
  app["retry"] = {{"attempts", 2}, {"exit_codes", {75, 111}}};
  app["wait_for_checks"] = json::array({"test", "ci/lint"});
  app["wait_for_checks_timeout_s"] = 600;
  config["github"] = {{"checks_poll_s", 5}};
  const auto loaded = load(config);
  const auto& d = loaded.deployment("app");
  CHECK(d.paths == std::vector<std::string>{"server/**"});
  CHECK(d.ignore_paths == std::vector<std::string>{"**/*.md"});
  REQUIRE(d.retry);
  CHECK(d.retry->attempts == 2);
  CHECK(d.retry->backoff_s == 30);
  CHECK(d.retry->exit_codes == std::vector<int>{75, 111});
  REQUIRE(d.wait_for_checks);
  CHECK_FALSE(d.wait_for_checks->all);
  CHECK(d.wait_for_checks->names == std::vector<std::string>{"test", "ci/lint"});
  CHECK(d.wait_for_checks->timeout == std::chrono::seconds(600));
  CHECK(loaded.github.checks_poll_s == 5);
  const auto masked = common::to_json_masked(loaded);
  CHECK(common::to_json_masked(common::parse_config(masked.dump(), file)) == masked);

  const auto defaults = load(minimal());
  CHECK(defaults.github.checks_poll_s == 30);
  CHECK_FALSE(defaults.deployment("app").retry);
  CHECK_FALSE(defaults.deployment("app").wait_for_checks);
  CHECK(defaults.deployment("app").paths.empty());

  auto all = minimal();
  all["deployments"]["app"]["wait_for_checks"] = "all";
  CHECK(load(all).deployment("app").wait_for_checks->all);
  CHECK(load(all).deployment("app").wait_for_checks->timeout == std::chrono::seconds(3600));

  auto bad = minimal();
  bad["deployments"]["app"]["wait_for_checks"] = "some";
  CHECK(error_of(bad) == file +
                             ": deployments.app.wait_for_checks: must be \"all\" or an array "
                             "of check names");
  bad = minimal();
  bad["deployments"]["app"]["wait_for_checks_timeout_s"] = 10;
  CHECK(error_of(bad) == file +
                             ": deployments.app.wait_for_checks_timeout_s: requires "
                             "\"wait_for_checks\"");
  bad = minimal();
  bad["deployments"]["app"]["retry"] = {{"attempts", 11}};
  CHECK(error_of(bad).starts_with(file + ": deployments.app.retry.attempts: "));
  bad = minimal();
  bad["deployments"]["app"]["retry"] = {{"exit_codes", {0}}};
  CHECK(error_of(bad).starts_with(file + ": deployments.app.retry.exit_codes[0]: "));
  bad = minimal();
  bad["deployments"]["app"]["paths"] = json::array();
  CHECK(error_of(bad).starts_with(file + ": deployments.app.paths: "));
  bad = minimal();
  bad["github"] = {{"checks_poll_s", 31}};
  CHECK(error_of(bad).starts_with(file + ": github.checks_poll_s: "));
}

TEST_CASE("config: nginx, certificates and privileged_command are checked strictly") {
  auto config = minimal();
  auto& app = config["deployments"]["app"];
  app["certificates"] = json::array({"api.example.com", "www.example.com"});
  app["nginx"] = {{"site", "deploy/nginx/api.conf"}, {"name", "api.example.com.conf"}};
  config["privileged_command"] = json::array({"/usr/local/sbin/deploy-privileged"});
  const auto loaded = load(config);
  const auto& d = loaded.deployment("app");
  CHECK(d.certificates == std::vector<std::string>{"api.example.com", "www.example.com"});
  REQUIRE(d.nginx);
  CHECK(d.nginx->site == "deploy/nginx/api.conf");
  CHECK(d.nginx->name == "api.example.com.conf");
  CHECK(loaded.privileged_command == std::vector<std::string>{"/usr/local/sbin/deploy-privileged"});
  const auto masked = common::to_json_masked(loaded);
  CHECK(common::to_json_masked(common::parse_config(masked.dump(), file)) == masked);
  CHECK_FALSE(load(minimal()).deployment("app").nginx);

  // What becomes a path or a helper's argument is refused unless plainly safe.
  const auto error_with = [](const char* key, const json& value) {
    auto bad = minimal();
    bad["deployments"]["app"][key] = value;
    return error_of(bad);
  };
  const std::string at = file + ": deployments.app.";
  CHECK(error_with("nginx", {{"site", "../etc/passwd"}, {"name", "a.conf"}})
            .starts_with(at + "nginx.site: must be a relative path inside the repository"));
  CHECK(error_with("nginx", {{"site", "/etc/nginx/x.conf"}, {"name", "a.conf"}})
            .starts_with(at + "nginx.site: "));
  CHECK(error_with("nginx", {{"site", "a.conf"}, {"name", "../a.conf"}})
            .starts_with(at + "nginx.name: must be a site file name ending in .conf"));
  CHECK(
      error_with("nginx", {{"site", "a.conf"}, {"name", "a.txt"}}).starts_with(at + "nginx.name"));
  CHECK(error_with("nginx", {{"site", "a.conf"}}).starts_with(at + "nginx"));
  CHECK(error_with("certificates", json::array({"api.example.com", "--pre-hook"}))
            .starts_with(at + "certificates[1]: is not a domain name"));
  CHECK(error_with("certificates", json::array({"API.example.com"}))
            .starts_with(at + "certificates[0]: "));
  CHECK(error_with("certificates", json::array({"localhost"})).starts_with(at + "certificates[0]"));
  auto relative = minimal();
  relative["privileged_command"] = json::array({"sudo", "deploy-privileged"});
  CHECK(error_of(relative).starts_with(file + ": privileged_command[0]: must be an absolute path"));
}
