// Several hosts in the configuration (common/hosts.hpp, docs/hosts.md): which host a program is
// (--host > DEPLOY_HOST > "host" > the system's name), host names, a deployment's "hosts" and
// "rollout", the per-host substitutions, and what check-config shows.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/cli.hpp"
#include "common/config.hpp"
#include "common/hosts.hpp"
#include "tests/support/temp_dir.hpp"

using nlohmann::json;

namespace {

const std::string file = "/etc/deployer/deployer.json";

json minimal() {
  return json::parse(R"({
    "instance": "test",
    "host": "web1",
    "state_dir": "/var/lib/deployer",
    "deployments": {
      "app": { "repository": "o/r", "branch": "main", "path": "/srv/app", "steps": [] }
    }
  })");
}

// A release-mode deployment with a preflight and a health check.
json release_mode() {
  auto config = minimal();
  auto& app = config["deployments"]["app"];
  app["remote"] = "/srv/app.git";
  app["releases"] = json::object();
  app["env"] = {{"PORT", "3000"}, {"SITE", "example"}};
  app["preflight"] = {{"run", {"node", "server.js", "--name", "${SITE}-${DEPLOY_HOST}"}},
                      {"env", {{"LISTEN", "${PORT}"}, {"OTHER", "${UNSET}"}}},
                      {"port_env", "PORT"},
                      {"path", "/up/${DEPLOY_HOST}"}};
  app["health_check"] = {{"url", "http://127.0.0.1:${PORT}/up?host=${DEPLOY_HOST}"}};
  return config;
}

// The environment variable is read by parse_config: every test starts without it.
struct NoHostEnv {
  NoHostEnv() { ::unsetenv("DEPLOY_HOST"); }
  ~NoHostEnv() { ::unsetenv("DEPLOY_HOST"); }
};

common::Config load(const json& config, const std::string& host = "") {
  return common::parse_config(config.dump(), file, common::LoadOptions{host});
}

std::string error_of(const json& config, const std::string& host = "") {
  try {
    load(config, host);
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hosts: host names are a-z 0-9 - . and bounded") {
  for (const std::string& good : std::vector<std::string>{"web1", "a", "web-2.example.com",
                                                          "10.0.0.1", std::string(63, 'a')}) {
    INFO(good);
    CHECK(common::valid_host_name(good));
  }
  for (const std::string& bad : std::vector<std::string>{
           "", "Web1", "web_1", "web 1", "-web", "web-", ".web", "web.", "..", "a..b", "web/1",
           std::string("web1\n"), std::string("${DEPLOY_HOST}"), std::string(64, 'a')}) {
    INFO(bad);
    CHECK_FALSE(common::valid_host_name(bad));
  }
}

TEST_CASE("hosts: --host wins over DEPLOY_HOST which wins over the key host then the system") {
  NoHostEnv clean;
  auto config = minimal();
  CHECK(load(config).host == "web1");
  CHECK(load(config).host_from == "host");
  ::setenv("DEPLOY_HOST", "web2", 1);
  CHECK(load(config).host == "web2");
  CHECK(load(config).host_from == "DEPLOY_HOST");
  CHECK(load(config, "web3").host == "web3");
  CHECK(load(config, "web3").host_from == "--host");
  ::unsetenv("DEPLOY_HOST");
  config.erase("host");
  const auto system = load(config);
  CHECK(system.host_from == "system");
  auto expected = common::system_host_name();
  for (char& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(system.host == expected);
  // The pure rule, with every source given.
  CHECK(common::resolve_host(file, "", "", "", "Build-Box").name == "build-box");
  CHECK(common::resolve_host(file, "", "", "cfg", "sys").from == "host");
}

TEST_CASE("hosts: an invalid host is refused naming where it came from") {
  NoHostEnv clean;
  auto config = minimal();
  config["host"] = "Web_1";
  CHECK(error_of(config) == file + ": host: must contain only a-z, 0-9, '-' and '.'");
  config["host"] = "web1";
  CHECK(error_of(config, "web..1") ==
        file + ": host: --host \"web..1\" is not a valid host name: must not contain \"..\"");
  ::setenv("DEPLOY_HOST", "../etc", 1);
  CHECK(error_of(config) == file +
                                ": host: DEPLOY_HOST \"../etc\" is not a valid host name: must "
                                "contain only a-z, 0-9, '-' and '.'");
  // The system's name is made valid rather than refused: a machine's odd name must not stop a
  // configuration that never mentions hosts.
  CHECK(common::resolve_host(file, "", "", "", "Build_Box").name == "build-box");
  CHECK(common::resolve_host(file, "", "", "", "-a..b_").name == "a.b");
  CHECK(common::resolve_host(file, "", "", "", std::string(70, 'x')).name == std::string(63, 'x'));
  CHECK_THROWS_WITH(common::resolve_host(file, "", "", "", "___"),
                    Catch::Contains("the system's host name is unknown") &&
                        Catch::Contains("set \"host\", DEPLOY_HOST or --host"));
}

TEST_CASE("hosts: without hosts a deployment runs on the loading program's host only") {
  NoHostEnv clean;
  const auto config = load(minimal(), "builder");
  const auto& app = config.deployment("app");
  CHECK_FALSE(app.hosts_set);
  REQUIRE(app.hosts.size() == 1);
  CHECK(app.hosts[0].name == "builder");
  CHECK(app.runs_on("builder"));
  CHECK(common::other_hosts(config, app).empty());
  CHECK_NOTHROW(common::require_on_this_host(config, app));
  // Nothing else about it changes.
  CHECK(app.path == "/srv/app");
  CHECK(config.state_dir == "/var/lib/deployer");
}

TEST_CASE(
    "hosts: host names or objects with env and this host's env is added to the deployment's") {
  NoHostEnv clean;
  auto json_config = minimal();
  auto& app = json_config["deployments"]["app"];
  app["env"] = {{"PORT", "3000"}, {"MODE", "production"}};
  app["hosts"] = json::array({"web1", {{"name", "web2"}, {"env", {{"PORT", "3002"}}}}});
  const auto on_web1 = load(json_config);
  CHECK(on_web1.deployment("app").env.at("PORT") == "3000");
  REQUIRE(on_web1.deployment("app").hosts.size() == 2);
  CHECK(on_web1.deployment("app").hosts[1].env.at("PORT") == "3002");
  CHECK(common::other_hosts(on_web1, on_web1.deployment("app")) ==
        std::vector<std::string>{"web2"});
  const auto on_web2 = load(json_config, "web2");
  CHECK(on_web2.deployment("app").env.at("PORT") == "3002");
  CHECK(on_web2.deployment("app").env.at("MODE") == "production");
  CHECK(common::other_hosts(on_web2, on_web2.deployment("app")) ==
        std::vector<std::string>{"web1"});
  const auto on_web3 = load(json_config, "web3");
  CHECK_FALSE(on_web3.deployment("app").runs_on("web3"));
  CHECK_THROWS_WITH(common::require_on_this_host(on_web3, on_web3.deployment("app")),
                    Catch::Contains("the deployment app does not run on this host (web3, from "
                                    "--host): its hosts are web1, web2") &&
                        Catch::Contains("deployments.app.hosts"));
}

TEST_CASE("hosts: bad hosts entries are refused naming the element") {
  NoHostEnv clean;
  auto config = minimal();
  auto& hosts = config["deployments"]["app"]["hosts"];
  const std::string key = file + ": deployments.app.hosts";
  hosts = json::array();
  CHECK(error_of(config) == key +
                                ": must be a non-empty array of host names or {\"name\": ..., "
                                "\"env\": {...}}");
  hosts = json::array({"web1", "web1"});
  CHECK(error_of(config) == key + "[1]: is listed twice");
  hosts = json::array({"web1", "WEB2"});
  CHECK(error_of(config) == key + "[1]: must contain only a-z, 0-9, '-' and '.'");
  hosts = json::array({{{"name", "web2"}, {"port", 1}}});
  CHECK(error_of(config) == key + "[0].port: unknown key");
  hosts = json::array({{{"name", "web2"}, {"env", {{"BAD-NAME", "1"}}}}});
  CHECK(error_of(config).starts_with(key + "[0].env.BAD-NAME: is not a valid environment"));
  hosts = json::array({7});
  CHECK(error_of(config).starts_with(key + "[0]: must be a non-empty array of host names"));
  hosts = json::array();
  for (int i = 0; i < 65; ++i) {
    std::string name = "h";  // appended, not "h" + ...: GCC 12's -Wrestrict misfires on that
    name += std::to_string(i);
    hosts.push_back(name);
  }
  CHECK(error_of(config) == key + ": must list at most 64 hosts");
}

TEST_CASE("hosts: DEPLOY_HOST is substituted in state_dir and path and nothing else there") {
  NoHostEnv clean;
  auto json_config = minimal();
  json_config["state_dir"] = "/var/lib/deployer/${DEPLOY_HOST}";
  json_config["deployments"]["app"]["path"] = "/srv/${DEPLOY_HOST}/app";
  const auto web2 = load(json_config, "web2");
  CHECK(web2.state_dir == "/var/lib/deployer/web2");
  CHECK(web2.deployment("app").path == "/srv/web2/app");
  CHECK(load(json_config, "web3").state_dir == "/var/lib/deployer/web3");
  json_config["deployments"]["app"]["path"] = "/srv/${SITE}/app";
  CHECK(error_of(json_config) ==
        file + ": deployments.app.path: ${SITE} is not substituted here (only ${DEPLOY_HOST} is)");
  json_config["deployments"]["app"]["path"] = "/srv/app";
  json_config["state_dir"] = "/var/${HOME}";
  CHECK(error_of(json_config) ==
        file + ": state_dir: ${HOME} is not substituted here (only ${DEPLOY_HOST} is)");
}

TEST_CASE(
    "hosts: variables of the per-host env are substituted in health_check.url and the preflight") {
  NoHostEnv clean;
  auto json_config = release_mode();
  json_config["deployments"]["app"]["hosts"] =
      json::array({"web1", {{"name", "web2"}, {"env", {{"PORT", "3002"}}}}});
  const auto web2 = load(json_config, "web2");
  const auto& app = web2.deployment("app");
  CHECK(app.health_check->url == "http://127.0.0.1:3002/up?host=web2");
  const auto& preflight = *app.preflight;
  CHECK(preflight.step.run ==
        std::vector<std::string>{"node", "server.js", "--name", "example-web2"});
  // port_env's variable is a free port picked at run time: left for the program to read.
  CHECK(preflight.step.env.at("LISTEN") == "${PORT}");
  CHECK(preflight.step.env.at("OTHER") == "${UNSET}");  // not in env: left as written
  CHECK(preflight.path == "/up/web2");
  const auto web1 = load(json_config, "web1");
  CHECK(web1.deployment("app").health_check->url == "http://127.0.0.1:3000/up?host=web1");
}

TEST_CASE("hosts: rollout defaults and ranges and on_host_down") {
  NoHostEnv clean;
  auto config = minimal();
  const auto defaults = load(config).deployment("app").rollout;
  CHECK(defaults.max_parallel == 1);
  CHECK(defaults.host_timeout_s == 600);
  CHECK(defaults.on_host_down == common::RolloutSettings::OnHostDown::wait);
  auto& rollout = config["deployments"]["app"]["rollout"];
  rollout = {{"max_parallel", 3}, {"host_timeout_s", 30}, {"on_host_down", "skip"}};
  const auto set = load(config).deployment("app").rollout;
  CHECK(set.max_parallel == 3);
  CHECK(set.host_timeout_s == 30);
  CHECK(set.on_host_down == common::RolloutSettings::OnHostDown::skip);
  const std::string key = file + ": deployments.app.rollout";
  rollout = {{"max_parallel", 0}};
  CHECK(error_of(config).starts_with(key + ".max_parallel: "));
  rollout = {{"host_timeout_s", 86401}};
  CHECK(error_of(config).starts_with(key + ".host_timeout_s: "));
  rollout = {{"on_host_down", "later"}};
  CHECK(error_of(config) == key + ".on_host_down: must be \"wait\" or \"skip\"");
  rollout = {{"parallel", 2}};
  CHECK(error_of(config) == key + ".parallel: unknown key");
  rollout = "fast";
  CHECK(error_of(config).starts_with(key + ": "));
}

TEST_CASE("hosts: check-config shows the resolved host and hosts and rollout and loads back") {
  NoHostEnv clean;
  auto json_config = minimal();
  json_config["state_dir"] = "/var/lib/${DEPLOY_HOST}";
  json_config["deployments"]["app"]["hosts"] =
      json::array({"web1", {{"name", "web2"}, {"env", {{"PORT", "3002"}}}}});
  const auto config = load(json_config, "web2");
  const auto shown = common::to_json_masked(config);
  CHECK(shown["host"] == "web2");
  CHECK(shown["state_dir"] == "/var/lib/web2");
  CHECK(shown["deployments"]["app"]["hosts"][1]["name"] == "web2");
  CHECK(shown["deployments"]["app"]["hosts"][1]["env"]["PORT"] == "3002");
  CHECK(shown["deployments"]["app"]["rollout"]["on_host_down"] == "wait");
  const auto again = common::parse_config(shown.dump(), file);
  CHECK(again.host == "web2");
  CHECK(again.deployment("app").hosts == config.deployment("app").hosts);
  CHECK(again.deployment("app").env == config.deployment("app").env);
  // Without the key, "hosts" is not shown (another host loading the output keeps its default).
  CHECK_FALSE(
      common::to_json_masked(load(minimal())).contains("/deployments/app/hosts"_json_pointer));
}

TEST_CASE("hosts: --host is a standard option and reaches the configuration") {
  NoHostEnv clean;
  test::TempDir dir;
  test::write_file(dir / "deployer.json", minimal().dump());
  common::StandardOptions options;
  std::vector<std::string> args = {"tool", "--config", (dir / "deployer.json").string(), "--host",
                                   "web7"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  std::string host;
  const int status = common::run_main(
      "tool", static_cast<int>(args.size()), argv.data(),
      [&](CLI::App& app) { common::add_standard_options(app, options); },
      [&] {
        host = common::load_config_for(options).host;
        return 0;
      });
  CHECK(status == 0);
  CHECK(options.host == "web7");
  CHECK(host == "web7");
}
