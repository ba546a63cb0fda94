// deployctl's command line as a real process: --help everywhere, the exit statuses (0 ok, 1 error,
// 2 usage), one error line, and check-config.
#include <catch2/catch.hpp>

#include "tests/deployctl/helpers.hpp"
#include "tests/support/child.hpp"

using deployctl_test::count_lines;
using deployctl_test::deployctl;
using deployctl_test::Site;

namespace {

const std::vector<std::string> kCommands = {"status",         "enqueue",  "retry",
                                            "logs",           "migrate",  "check-config",
                                            "send-test-push", "rollback", "releases"};

}  // namespace

TEST_CASE("deployctl --help lists every subcommand and each subcommand has --help with --config") {
  const auto help = deployctl({"--help"});
  CHECK(help.status == 0);
  for (const auto& command : kCommands) {
    INFO(command);
    CHECK_THAT(help.out, Catch::Contains(command));
    const auto sub = deployctl({command, "--help"});
    CHECK(sub.status == 0);
    CHECK(sub.err.empty());
    CHECK_THAT(sub.out, Catch::Contains(command));
    // Every subcommand's help names --config and ends with the exit statuses.
    CHECK_THAT(sub.out, Catch::Contains("--config FILE"));
    CHECK_THAT(sub.out, Catch::Contains("Exit status: 0 ok, 1 error, 2 usage error"));
  }
  const auto version = deployctl({"--version"});
  CHECK(version.status == 0);
  CHECK_THAT(version.out, Catch::StartsWith("deployctl "));
}

TEST_CASE("deployctl usage errors exit 2 with one line") {
  Site site;
  const std::vector<std::vector<std::string>> cases = {
      {},                                                 // no subcommand
      {"frobnicate"},                                     // unknown subcommand
      {"status", "--jsn"},                                // unknown option
      site.args({"enqueue", "site"}),                     // --sha missing
      site.args({"enqueue", "site", "--sha", "abc123"}),  // short sha
      site.args({"enqueue", "site", "--sha", std::string(40, 'a'), "--ref", "main"}),
      site.args({"retry", "site", "not-an-entry"}),
      site.args({"logs"}),
      site.args({"send-test-push", "site", "--sha", "xyz"}),
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO(joined);
    const auto result = deployctl(args);
    CHECK(result.status == 2);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::StartsWith("deployctl: error: "));
    CHECK_THAT(result.err, Catch::Contains("--help"));
    CHECK(result.out.empty());
  }
}

TEST_CASE("deployctl errors exit 1 with one line naming what is wrong") {
  Site site;
  SECTION("a missing configuration file") {
    const auto result = deployctl({"--config", (site.dir / "nope.json").string(), "status"});
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::Contains("nope.json"));
  }
  SECTION("an unknown deployment") {
    const auto result = deployctl(site.args({"enqueue", "nosuch", "--sha", std::string(40, 'a')}));
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::Contains("no deployment named 'nosuch'"));
    CHECK_THAT(result.err, Catch::Contains("known: site"));
  }
  SECTION("$DEPLOYER_CONFIG names the file when --config is absent") {
    const auto result = deployctl({"check-config"}, {{"DEPLOYER_CONFIG", site.config.string()}});
    CHECK(result.status == 0);
    CHECK_THAT(result.out, Catch::Contains("deployctl-test"));
  }
}

TEST_CASE("check-config prints the resolved configuration with secrets masked") {
  Site site;
  const auto result =
      deployctl(site.args({"check-config"}),
                {{"WEBHOOK_SECRET", "hunter2-very-secret"}, {"DATABASE_URL", "host=/x dbname=y"}});
  INFO(result.err);
  REQUIRE(result.status == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["instance"] == "deployctl-test");
  CHECK(json["state_dir"] == (site.dir / "var").string());  // resolved against the file's folder
  CHECK(json["listen"]["port"] == 3400);                    // defaults filled in
  CHECK(json["secrets"]["webhook"][0]["env"] == "WEBHOOK_SECRET");
  CHECK(json["deployments"]["site"]["steps"][0]["timeout_s"] == 900);
  CHECK_THAT(result.out + result.err, !Catch::Contains("hunter2"));
  CHECK_THAT(result.out + result.err, !Catch::Contains("host=/x"));
  CHECK_THAT(result.err, Catch::Contains("webhook secret (WEBHOOK_SECRET): set"));
  CHECK_THAT(result.err, Catch::Contains("github token (GITHUB_TOKEN): not set"));
}

TEST_CASE("check-config of a broken file names the file and the key and exits 1") {
  Site site;
  auto json = nlohmann::json::parse(test::read_file(site.config));
  json["deployments"]["site"]["branch"] = "../evil";
  test::write_file(site.config, json.dump());
  const auto result = deployctl(site.args({"check-config"}));
  CHECK(result.status == 1);
  CHECK(result.out.empty());
  CHECK(count_lines(result.err) == 1);
  CHECK_THAT(result.err, Catch::Contains(site.config.string() + ": deployments.site.branch: "));
}

TEST_CASE(
    "receiver router and deployer exit 2 on a command line they cannot parse, like deployctl") {
  for (const std::string program : {"receiver", "router", "deployer"}) {
    INFO(program);
    std::vector<std::string> argv{test::bin(program).string(), "--no-such-option"};
    if (program == "deployer") argv.insert(argv.end(), {"--deployment", "site"});
    const auto result = test::run(argv);
    CHECK(result.status == 2);
    CHECK_THAT(result.output, Catch::StartsWith(program + ": error: "));
    CHECK_THAT(result.output, Catch::Contains("--no-such-option"));
    CHECK(count_lines(result.output) == 1);
  }
}
