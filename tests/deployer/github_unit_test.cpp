// GitHub deployments without a network: the configuration keys (defaults, errors naming the key),
// the request bodies GitHub documents, the outbox item and its check, and the durable id records.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/github_deployment.hpp"
#include "common/outbox.hpp"
#include "deployer/github_deploy.hpp"
#include "deployer/github_outbox.hpp"
#include "tests/support/temp_dir.hpp"

using nlohmann::json;

namespace {

json base() {
  return json::parse(R"({
    "instance": "test", "state_dir": "/var/lib/d",
    "deployments": {
      "web": { "repository": "o/web", "branch": "main", "path": "/srv/web", "steps": [] }
    }
  })");
}

std::string error_of(const json& config) {
  try {
    common::parse_config(config.dump(), "d.json");
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("github.deployments, commit_statuses, environment: defaults and values", "[github]") {
  auto config = common::parse_config(base().dump(), "d.json");
  CHECK(config.github.deployments);
  CHECK(config.github.commit_statuses);
  CHECK(config.deployment("web").environment == "web");  // the deployment's name
  CHECK(config.deployment("web").environment_url.empty());

  auto text = base();
  text["github"] = {{"deployments", false}, {"commit_statuses", false}};
  text["deployments"]["web"]["environment"] = "production";
  text["deployments"]["web"]["environment_url"] = "https://web.example.com";
  config = common::parse_config(text.dump(), "d.json");
  CHECK_FALSE(config.github.deployments);
  CHECK_FALSE(config.github.commit_statuses);
  CHECK(config.deployment("web").environment == "production");
  CHECK(config.deployment("web").environment_url == "https://web.example.com");
  // check-config's view loads back to the same.
  const auto again = common::parse_config(common::to_json_masked(config).dump(), "d.json");
  CHECK_FALSE(again.github.deployments);
  CHECK(again.deployment("web").environment_url == "https://web.example.com");
}

TEST_CASE("github and environment errors name the key", "[github]") {
  auto text = base();
  text["github"] = {{"deployments", "yes"}};
  CHECK(error_of(text).find("github.deployments") != std::string::npos);
  text = base();
  text["deployments"]["web"]["environment"] = "";
  CHECK(error_of(text).find("deployments.web.environment") != std::string::npos);
  text = base();
  text["deployments"]["web"]["environment"] = "a\nb";
  CHECK(error_of(text).find("control characters") != std::string::npos);
  text = base();
  text["deployments"]["web"]["environment_url"] = "ftp://x";
  CHECK(error_of(text).find("deployments.web.environment_url") != std::string::npos);
  text = base();
  text["deployments"]["web"]["environment_url"] = "https://a b";
  CHECK(error_of(text).find("must not contain spaces") != std::string::npos);
}

TEST_CASE("the create and status bodies have GitHub's documented fields", "[github]") {
  auto text = base();
  text["deployments"]["web"]["environment"] = "production";
  text["deployments"]["web"]["environment_url"] = "https://web.example.com";
  const auto config = common::parse_config(text.dump(), "d.json");
  const auto& web = config.deployment("web");
  const std::string sha(40, 'a');
  const auto create = common::deployment_create_body(web, sha, "refs/heads/main");
  CHECK(create["ref"] == sha);
  CHECK(create["auto_merge"] == false);
  CHECK(create["required_contexts"] == json::array());
  CHECK(create["environment"] == "production");
  CHECK(create["transient_environment"] == false);
  CHECK(create["payload"]["ref"] == "refs/heads/main");

  const std::string long_text = std::string(139, 'x') + "\xc3\xa9";  // é across byte 140
  const auto status = common::deployment_status_body(web, common::DeploymentState::failure,
                                                     long_text, "https://d.example/runs/7");
  CHECK(status["state"] == "failure");
  CHECK(status["description"] == std::string(139, 'x'));  // cut before the character
  CHECK(status["environment_url"] == "https://web.example.com");
  CHECK(status["log_url"] == "https://d.example/runs/7");
  const auto bare = common::deployment_status_body(config.deployment("web"),
                                                   common::DeploymentState::queued, "q", "");
  CHECK_FALSE(bare.contains("log_url"));

  common::DeploymentStatusItem item;
  item.key = "00000000000000000001-abc.json";
  item.state = common::DeploymentState::in_progress;
  item.description = "Deploying aaaaaaa";
  const auto without = common::github_outbox_item(web, item);
  CHECK(deployer::is_github_item(without));
  CHECK_FALSE(without["github"].contains("create"));
  item.create_sha = sha;
  const auto with = common::github_outbox_item(web, item);
  CHECK(deployer::is_github_item(with));
  CHECK(with["github"]["create"]["ref"] == sha);
  CHECK(with["github"]["repository"] == "o/web");
  CHECK_FALSE(deployer::is_github_item(json{{"github", {{"key", 1}}}}));
  CHECK_FALSE(deployer::is_github_item(json{{"notification", "ops"}, {"body", "{}"}}));
}

TEST_CASE("failure or error: what failed decides", "[github]") {
  using common::DeploymentState;
  CHECK(deployer::failed_state("step build") == DeploymentState::failure);
  CHECK(deployer::failed_state("activate restart") == DeploymentState::failure);
  CHECK(deployer::failed_state("health check") == DeploymentState::failure);
  CHECK(deployer::failed_state("preflight") == DeploymentState::failure);
  CHECK(deployer::failed_state("git fetch") == DeploymentState::error);
  CHECK(deployer::failed_state("switch") == DeploymentState::error);
}

TEST_CASE("GitHub deployment ids are recorded once and read back", "[github]") {
  test::TempDir tmp;
  const auto outbox = tmp.path() / "outbox" / "web";
  const std::string key = "00000000000000000001-abc.json";
  CHECK_FALSE(common::read_github_id(outbox, key));
  REQUIRE_FALSE(common::store_github_id(outbox, key, 4242));
  CHECK(common::read_github_id(outbox, key) == 4242);
  CHECK_FALSE(common::store_github_id(outbox, key, 99));  // kept: the first id stays
  CHECK(common::read_github_id(outbox, key) == 4242);
  CHECK(common::store_github_id(outbox, "../escape", 1));  // not a plain name: refused
  CHECK(common::prune_github_ids(outbox, std::chrono::hours(1)) == 0);
  CHECK(common::prune_github_ids(outbox, std::chrono::seconds(-10)) == 1);
  CHECK_FALSE(common::read_github_id(outbox, key));
}
