// config/example.json loads and reproduces the original DurHack deploy, in release mode; and
// every key of the resolved configuration (what `deployctl check-config` prints) is named in
// docs/configuration.md, so a key added to the code without its line in the doc fails here.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

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

namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every object key below `node`, but not the user's own names: deployment names, environment
// variables and notification names' values are data, not keys of the format.
void collect_keys(const nlohmann::json& node, std::set<std::string>& keys) {
  if (node.is_array()) {
    for (const auto& element : node) collect_keys(element, keys);
    return;
  }
  if (!node.is_object()) return;
  for (const auto& [key, value] : node.items()) {
    if (key.starts_with("_")) continue;  // "_file", "_comment": notes, not settings
    keys.insert(key);
    if (key == "env") continue;  // NAME -> value of the user's choosing
    if (key == "deployments" && value.is_object()) {
      for (const auto& [name, deployment] : value.items()) collect_keys(deployment, keys);
      continue;
    }
    collect_keys(value, keys);
  }
}

// The doc names `key` in backquotes, alone or as a part of a dotted or indexed key.
bool documented(const std::string& doc, const std::string& key) {
  for (const std::string& form :
       {"`" + key + "`", "." + key + "`", "`" + key + ".", "`" + key + "[", "]." + key + "`"}) {
    if (doc.find(form) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("example config: every key of the resolved configuration is in docs/configuration.md") {
  auto json = nlohmann::json::parse(read_text(example()));
  // What the example leaves out, so that it shows in the resolved form too.
  json["dashboard"] = {
      {"public_url", "https://deploy.example.com"},
      {"users",
       {{{"name", "ada"}, {"password_hash", {{"env", "ADA_HASH"}}}, {"role", "operator"}}}}};
  json["notify"] = {{{"name", "ops"},
                     {"type", "webhook"},
                     {"url", {{"env", "NOTIFY_URL"}}},
                     {"secret", {{"env", "NOTIFY_SECRET"}}},
                     {"on", {"failed"}}}};
  auto& durhack = json["deployments"]["durhack"];
  durhack["paths"] = {"server/**"};
  durhack["ignore_paths"] = {"**/*.md"};
  durhack["retry"] = {{"attempts", 2}};
  durhack["wait_for_checks"] = "all";
  durhack["environment"] = "production";
  durhack["environment_url"] = "https://durhack.com";
  durhack["webhook_secrets"] = {{{"env", "DURHACK_WEBHOOK_SECRET"}}};
  const auto resolved = common::to_json_masked(common::parse_config(json.dump(), example()));
  std::set<std::string> keys;
  collect_keys(resolved, keys);
  REQUIRE(keys.size() > 60);  // the whole format, not a stub
  const std::string doc =
      read_text(example().parent_path().parent_path() / "docs" / "configuration.md");
  REQUIRE_FALSE(doc.empty());
  for (const auto& key : keys) {
    INFO("key " << key << " is not named in docs/configuration.md");
    CHECK(documented(doc, key));
  }
}
