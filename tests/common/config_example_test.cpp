// config/example.json loads and reproduces the original DurHack deploy.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "common/config.hpp"

namespace {

std::filesystem::path example() {
  // DEPLOY_SOURCE_DIR comes from ctest; the compiled-in path serves a binary run by hand.
  const char* source = std::getenv("DEPLOY_SOURCE_DIR");
  return std::filesystem::path(source != nullptr ? source : COMMON_TEST_SOURCE_DIR) /
         "config/example.json";
}

void check_deployment(const common::Deployment& d, const std::string& branch,
                      const std::string& path, const std::string& instance) {
  CHECK(d.repository == "ducompsoc/durhack");
  CHECK(d.branch == branch);
  CHECK(d.path == path);
  CHECK(d.enabled);
  CHECK(d.env == std::map<std::string, std::string>{{"INSTANCE_NAME", instance}});
  std::vector<std::string> names;
  for (const auto& step : d.steps) names.push_back(step.name);
  CHECK(names == std::vector<std::string>{"install", "migrate", "generate", "build", "pm2-delete",
                                          "pm2-restart", "pm2-save"});
  REQUIRE(d.steps.size() == 7);
  CHECK(d.steps[0].run == std::vector<std::string>{"pnpm", "install", "--filter", "{server}..."});
  CHECK(d.steps[0].only_if_changed ==
        std::vector<std::string>{"pnpm-lock.yaml", "**/package.json"});
  CHECK(d.steps[1].run == std::vector<std::string>{"pnpm", "--filter", "server", "exec", "prisma",
                                                   "migrate", "deploy"});
  CHECK(d.steps[1].only_if_changed.empty());
  CHECK(d.steps[4].shell);
  CHECK(d.steps[4].run == std::vector<std::string>{"pm2 delete ecosystem.config.js || true"});
  CHECK(d.steps[5].run == std::vector<std::string>{"pm2", "restart", "ecosystem.config.js"});
  CHECK_FALSE(d.steps[5].shell);
  CHECK(d.steps[6].run == std::vector<std::string>{"pm2", "save"});
}

}  // namespace

TEST_CASE("example config: loads and describes both DurHack deployments") {
  const auto config = common::load_config(example());
  CHECK(config.listen.port == 3400);
  CHECK(config.listen.host == "127.0.0.1");
  CHECK_FALSE(config.allow_root);
  CHECK(config.deployments.size() == 2);
  check_deployment(config.deployment("durhack"), "main", "/var/www/api.durhack.com",
                   "api.durhack.com");
  check_deployment(config.deployment("durhack-staging"), "staging",
                   "/var/www/api.durhack-staging.com", "api.durhack-staging.com");
}
