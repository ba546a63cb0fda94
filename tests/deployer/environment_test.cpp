// What a step sees: its argv (one element per configured string, ${DEPLOY_*} expanded in place)
// and its environment (layers, DEPLOY_* last, the deployer's own secrets removed).
#include <catch2/catch.hpp>

#include <algorithm>

#include "common/config.hpp"
#include "deployer/environment.hpp"

using namespace deployer;

namespace {

DeployVars sample_vars() {
  DeployVars vars;
  vars.deployment = "app";
  vars.sha = "0123456789abcdef0123456789abcdef01234567";
  vars.previous_sha = "";
  vars.ref = "refs/heads/main";
  vars.delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
  vars.entry = "00000000000000000001-x.json";
  vars.changed_files = "/var/logs/app/00000000000000000001-x.json.changed";
  return vars;
}

bool contains(const std::vector<std::string>& env, const std::string& assignment) {
  return std::find(env.begin(), env.end(), assignment) != env.end();
}

}  // namespace

TEST_CASE("argv elements stay single arguments whatever the values contain", "[environment]") {
  DeployVars vars = sample_vars();
  vars.ref = "refs/heads/a b;$(touch x)'\"";  // not a valid ref, but expansion must not care
  common::Step step;
  step.name = "show";
  step.run = {"printf",         "%s", "${DEPLOY_REF}", "sha=${DEPLOY_SHA}!", "${HOME}",
              "${DEPLOY_NOPE}", "$"};
  auto argv = step_argv(step, vars);
  REQUIRE(argv.size() == 7);
  CHECK(argv[2] == vars.ref);
  CHECK(argv[3] == "sha=" + vars.sha + "!");
  CHECK(argv[4] == "${HOME}");         // not a DEPLOY_ variable: left alone
  CHECK(argv[5] == "${DEPLOY_NOPE}");  // unknown: left alone
  CHECK(argv[6] == "$");
}

TEST_CASE("a shell step runs /bin/sh -c with its script unchanged", "[environment]") {
  common::Step step;
  step.name = "restart";
  step.shell = true;
  step.run = {"pm2 delete ecosystem.config.js || true; echo ${DEPLOY_SHA}"};
  auto argv = step_argv(step, sample_vars());
  REQUIRE(argv.size() == 4);
  CHECK(argv[0] == "/bin/sh");
  CHECK(argv[1] == "-c");
  CHECK(argv[2] == step.run[0]);  // no expansion: the shell reads the variable from env
  CHECK(argv[3] == "deploy-step-restart");
}

TEST_CASE("environment layers: process, deployment, step, then DEPLOY_*", "[environment]") {
  common::Deployment deployment;
  deployment.name = "app";
  deployment.env = {{"INSTANCE_NAME", "app.example.com"}, {"SHARED", "deployment"}};
  common::Step step;
  step.name = "build";
  step.env = {{"SHARED", "step"}, {"DEPLOY_SHA", "configured"}};
  std::vector<std::string> base{"PATH=/usr/bin:/bin", "SHARED=process", "HOME=/home/deploy"};
  auto env = step_environment(base, deployment, step, sample_vars());
  CHECK(contains(env, "PATH=/usr/bin:/bin"));
  CHECK(contains(env, "HOME=/home/deploy"));
  CHECK(contains(env, "INSTANCE_NAME=app.example.com"));
  CHECK(contains(env, "SHARED=step"));
  CHECK(contains(env, "DEPLOY_SHA=0123456789abcdef0123456789abcdef01234567"));
  CHECK(contains(env, "DEPLOY_PREVIOUS_SHA="));
  CHECK(contains(env, "DEPLOY_DEPLOYMENT=app"));
  CHECK(contains(env, "DEPLOY_REF=refs/heads/main"));
  CHECK(contains(env, "DEPLOY_DELIVERY=72d3162e-cc78-11e3-81ab-4c9367dc0958"));
  CHECK(contains(env, "DEPLOY_ENTRY=00000000000000000001-x.json"));
  CHECK(contains(env, "DEPLOY_CHANGED_FILES=/var/logs/app/00000000000000000001-x.json.changed"));
  CHECK(std::count_if(env.begin(), env.end(),
                      [](const std::string& e) { return e.starts_with("SHARED="); }) == 1);
}

TEST_CASE("the deployer's own secrets are not passed to steps", "[environment]") {
  common::Config config;
  config.database_url = common::SecretSource::from_env("DATABASE_URL");
  config.github.token = common::SecretSource::from_env("MY_TOKEN");
  config.webhook_secrets = {common::SecretSource::from_env("WEBHOOK_SECRET"),
                            common::SecretSource::from_file("/etc/secret")};
  std::vector<std::string> base{"DATABASE_URL=postgres://x", "MY_TOKEN=ghp_x", "WEBHOOK_SECRET=s",
                                "GITHUB_TOKEN=kept", "PATH=/bin"};
  auto env = without_secrets(base, config);
  CHECK(env == std::vector<std::string>{"GITHUB_TOKEN=kept", "PATH=/bin"});
}

TEST_CASE("commands are displayed with quoting for the log", "[environment]") {
  CHECK(display_command({"pnpm", "install", "--filter", "{server}..."}) ==
        "pnpm install --filter '{server}...'");
  CHECK(display_command({"sh", "-c", "echo 'hi'"}) == "sh -c 'echo '\\''hi'\\'''");
}
