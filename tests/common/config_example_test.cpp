// config/example.json loads and reproduces the original DurHack deploy, in release mode.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>

#include "common/config.hpp"

namespace {

std::filesystem::path example() {
  // DEPLOY_SOURCE_DIR comes from ctest; the compiled-in path serves a binary run by hand.
  const char* source = std::getenv("DEPLOY_SOURCE_DIR");
  return std::filesystem::path(source != nullptr ? source : COMMON_TEST_SOURCE_DIR) /
         "config/example.json";
}

void check_deployment(const common::Deployment& d, const std::string& branch,
                      const std::string& path, const std::string& instance, const std::string& port,
                      std::uint32_t keep) {
  CHECK(d.repository == "ducompsoc/durhack");
  CHECK(d.branch == branch);
  CHECK(d.path == path);
  // Steps run as the site's own user, talking to that user's PM2 daemon (docs/operations.md).
  CHECK(d.run_as == "durhack-app");
  CHECK(d.remote == "https://github.com/ducompsoc/durhack.git");
  CHECK(d.enabled);
  CHECK(d.env == std::map<std::string, std::string>{{"INSTANCE_NAME", instance},
                                                    {"PORT", port},
                                                    {"PM2_HOME", "/var/www/durhack-app/.pm2"}});

  // Release mode: .env shared by every release, node_modules carried over unless a lockfile or a
  // package.json changed.
  REQUIRE(d.releases);
  CHECK(d.releases->keep == keep);
  CHECK(d.releases->shared == std::vector<std::string>{".env"});
  REQUIRE(d.releases->reuse.size() == 2);
  CHECK(d.releases->reuse[0].path == "node_modules");
  CHECK(d.releases->reuse[1].path == "server/node_modules");
  for (const auto& rule : d.releases->reuse) {
    CHECK(rule.unless_changed == std::vector<std::string>{"pnpm-lock.yaml", "**/package.json"});
  }

  // The original build steps, run in the new release before anything live changes.
  std::vector<std::string> names;
  for (const auto& step : d.steps) names.push_back(step.name);
  CHECK(names == std::vector<std::string>{"install", "migrate", "generate", "build"});
  REQUIRE(d.steps.size() == 4);
  CHECK(d.steps[0].run == std::vector<std::string>{"pnpm", "install", "--filter", "{server}..."});
  CHECK(d.steps[0].only_if_changed ==
        std::vector<std::string>{"pnpm-lock.yaml", "**/package.json"});
  CHECK(d.steps[1].run == std::vector<std::string>{"pnpm", "--filter", "server", "exec", "prisma",
                                                   "migrate", "deploy"});
  CHECK(d.steps[1].only_if_changed.empty());
  for (const auto& step : d.steps) CHECK_FALSE(step.shell);

  // The server is started once on a free port before the switch...
  REQUIRE(d.preflight);
  CHECK(d.preflight->step.run == std::vector<std::string>{"node", "server/dist/main.js"});
  CHECK(d.preflight->port_env == "PORT");
  CHECK(d.preflight->path == "/up");

  // ... and reloaded, not deleted and restarted: no request is dropped.
  REQUIRE(d.activate.size() == 2);
  CHECK(d.activate[0].run ==
        std::vector<std::string>{"pm2", "startOrReload", "ecosystem.config.js", "--update-env"});
  CHECK(d.activate[1].run == std::vector<std::string>{"pm2", "save"});
  for (const auto* steps : {&d.steps, &d.activate}) {
    for (const auto& step : *steps) {
      for (const auto& arg : step.run) {
        CHECK(arg != "delete");
        CHECK(arg != "restart");
      }
    }
  }

  // The switch counts only once the new commit answers, twice in a row.
  REQUIRE(d.health_check);
  CHECK(d.health_check->url == "http://127.0.0.1:" + port + "/up");
  CHECK(d.health_check->expect_status == 200);
  CHECK(d.health_check->expect_body == std::optional<std::string>("${DEPLOY_SHA}"));
  CHECK(d.health_check->poll.successes == 2);
}

}  // namespace

TEST_CASE("example config: loads and describes both DurHack deployments in release mode") {
  const auto config = common::load_config(example());
  CHECK(config.listen.port == 3400);
  CHECK(config.listen.host == "127.0.0.1");
  CHECK_FALSE(config.allow_root);
  CHECK(config.deployments.size() == 2);
  check_deployment(config.deployment("durhack"), "main", "/var/www/api.durhack.com",
                   "api.durhack.com", "3101", 5);
  check_deployment(config.deployment("durhack-staging"), "staging",
                   "/var/www/api.durhack-staging.com", "api.durhack-staging.com", "3102", 3);
  // Production's certificate and nginx site, through the root helper (docs/operations.md).
  const auto& production = config.deployment("durhack");
  CHECK(production.certificates == std::vector<std::string>{"api.durhack.com"});
  REQUIRE(production.nginx);
  CHECK(production.nginx->site == "deploy/nginx/api.durhack.com.conf");
  CHECK(production.nginx->name == "api.durhack.com.conf");
  CHECK(config.deployment("durhack-staging").certificates.empty());
  CHECK(config.privileged_command ==
        std::vector<std::string>{"/usr/bin/sudo", "-n", "/usr/local/sbin/deploy-privileged"});
}
