// send-test-push against the real receiver (and, in the last test, the real router and deployer
// with a real ledger): what it posts, what it prints, how it fails.
#include <catch2/catch.hpp>

#include <optional>

#include "common/entry.hpp"
#include "common/ledger/migrations.hpp"
#include "queue-layout/scan.hpp"
#include "tests/deployctl/helpers.hpp"
#include "tests/support/child.hpp"
#include "tests/support/http.hpp"
#include "tests/support/pg.hpp"

using namespace std::chrono_literals;
using deployctl_test::count_lines;
using deployctl_test::deployctl;
using deployctl_test::entry_from;
using deployctl_test::kSecret;
using deployctl_test::Site;

namespace {

const std::map<std::string, std::string> kSecretEnv{{"WEBHOOK_SECRET", kSecret}};

// A site whose configuration names a free loopback port for the receiver, and `steps`.
struct PipelineSite {
  explicit PipelineSite(nlohmann::json steps = nlohmann::json::array())
      : port(test::free_port()),
        site(nlohmann::json{{"listen", {{"host", "127.0.0.1"}, {"port", port}}},
                            {"router", {{"settle_ms", 200}}}}) {
    auto json = nlohmann::json::parse(test::read_file(site.config));
    if (!steps.empty()) json["deployments"]["site"]["steps"] = steps;
    test::write_file(site.config, json.dump(2));
  }

  // Starts bin/<program> with the site's configuration, its output in <dir>/<program>.log.
  test::Child start(const std::string& program, std::vector<std::string> extra,
                    std::map<std::string, std::string> env) const {
    std::vector<std::string> argv{test::bin(program).string(), "--config", site.config.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("WEBHOOK_SECRET", kSecret);
    return test::Child(argv, env, site.dir / (program + ".log"));
  }

  std::string log(const std::string& program) const {
    std::error_code ec;
    if (!std::filesystem::exists(site.dir / (program + ".log"), ec)) return "";
    return test::read_file(site.dir / (program + ".log"));
  }

  unsigned short port;
  Site site;
};

}  // namespace

TEST_CASE("send-test-push posts a signed realistic push of the branch tip to the receiver") {
  PipelineSite p;
  auto receiver = p.start("receiver", {}, {});
  REQUIRE(test::http::wait_for_port(p.port, 20s));

  const auto result = deployctl(p.site.args({"send-test-push", "site", "--no-wait"}), kSecretEnv);
  INFO(result.out + result.err + p.log("receiver"));
  REQUIRE(result.status == 0);
  CHECK_THAT(result.out, Catch::StartsWith("receiver answered 202 Accepted: {"));
  const std::string name = entry_from(result.out);
  REQUIRE_FALSE(name.empty());

  const auto entry = common::parse_entry(test::read_file(p.site.layout.inbox() / name));
  REQUIRE(entry.ok());
  CHECK(entry->meta.event == "push");
  REQUIRE(entry->meta.id);
  CHECK(deployctl_test::is_uuid_v4(*entry->meta.id));
  CHECK_THAT(name, Catch::EndsWith("-" + *entry->meta.id + ".json"));
  REQUIRE(entry->meta.hook_id);
  const auto& payload = entry->payload;
  CHECK(payload["ref"] == "refs/heads/main");
  CHECK(payload["after"] == p.site.origin.head());
  CHECK(payload["after"] == p.site.first_sha);
  CHECK(payload["before"] == std::string(40, '0'));  // the first commit has no parent
  CHECK(payload["created"] == true);
  CHECK(payload["repository"]["full_name"] == "example/site");
  CHECK(payload["repository"]["name"] == "site");
  CHECK(payload["repository"]["owner"]["login"] == "example");
  CHECK(payload["pusher"]["name"].is_string());
  CHECK(payload["head_commit"]["id"] == p.site.first_sha);
  CHECK(payload["head_commit"]["message"] == "first");
  CHECK(payload["commits"].size() == 1);
  CHECK(payload["commits"][0]["added"] == nlohmann::json({"README.md"}));
  REQUIRE(common::parse_push(payload).ok());

  // A commit the working tree has not fetched: the tip still comes from the remote.
  const std::string second = p.site.origin.commit({{"b.txt", "b\n"}}, "second");
  const auto again = deployctl(p.site.args({"send-test-push", "site", "--no-wait"}), kSecretEnv);
  REQUIRE(again.status == 0);
  const std::string name2 = entry_from(again.out);
  REQUIRE_FALSE(name2.empty());
  CHECK(name2 > name);
  const auto entry2 = common::parse_entry(test::read_file(p.site.layout.inbox() / name2));
  REQUIRE(entry2.ok());
  CHECK(entry2->payload["after"] == second);
  CHECK(entry2->meta.hook_id == entry->meta.hook_id);  // one webhook: one hook id
  CHECK(entry2->meta.id != entry->meta.id);            // a fresh delivery each time
}

TEST_CASE("send-test-push with --sha posts that commit") {
  PipelineSite p;
  auto receiver = p.start("receiver", {}, {});
  REQUIRE(test::http::wait_for_port(p.port, 20s));
  const std::string sha(40, 'e');
  const auto result =
      deployctl(p.site.args({"send-test-push", "site", "--no-wait", "--sha", sha}), kSecretEnv);
  REQUIRE(result.status == 0);
  const auto entry =
      common::parse_entry(test::read_file(p.site.layout.inbox() / entry_from(result.out)));
  REQUIRE(entry.ok());
  CHECK(entry->payload["after"] == sha);
}

TEST_CASE("send-test-push reports a refusal by the receiver with exit status 1") {
  PipelineSite p;
  auto receiver = p.start("receiver", {}, {});
  REQUIRE(test::http::wait_for_port(p.port, 20s));
  const auto result = deployctl(p.site.args({"send-test-push", "site", "--no-wait"}),
                                {{"WEBHOOK_SECRET", "not the receiver's secret"}});
  CHECK(result.status == 1);
  CHECK_THAT(result.out, Catch::StartsWith("receiver answered 401"));
  CHECK(count_lines(result.err) == 1);
  CHECK_THAT(result.err, Catch::Contains("refused the push with 401"));
  queue_layout::Listing listing;
  queue_layout::list_entries(p.site.layout.inbox(), listing);
  CHECK(listing.entries.empty());
}

TEST_CASE("send-test-push fails with one line when it cannot do its job") {
  PipelineSite p;
  SECTION("no receiver is listening") {
    const auto result = deployctl(p.site.args({"send-test-push", "site"}), kSecretEnv);
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::Contains("cannot connect to the receiver at 127.0.0.1:" +
                                           std::to_string(p.port)));
  }
  SECTION("no webhook secret is set") {
    const auto result =
        deployctl(p.site.args({"send-test-push", "site"}), {{"WEBHOOK_SECRET", ""}});
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::Contains("WEBHOOK_SECRET is not set"));
  }
  SECTION("the deployment's path does not exist and no --sha is given") {
    std::filesystem::remove_all(p.site.dir / "app");
    const auto result = deployctl(p.site.args({"send-test-push", "site"}), kSecretEnv);
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::Contains("give --sha"));
  }
  SECTION("the branch is not in the remote") {
    auto json = nlohmann::json::parse(test::read_file(p.site.config));
    json["deployments"]["site"]["branch"] = "nosuch";
    test::write_file(p.site.config, json.dump());
    const auto result = deployctl(p.site.args({"send-test-push", "site"}), kSecretEnv);
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::Contains("the remote has no branch nosuch"));
  }
}

TEST_CASE("send-test-push follows the deploy through the real router and deployer") {
  test::Database db;
  ledger::migrate(db.url());
  // The step records each deployed sha, and fails when the commit has a file named "fail".
  PipelineSite p(
      nlohmann::json::array({{{"name", "build"},
                              {"run", {"echo $DEPLOY_SHA >> ../deployed.txt && test ! -e fail"}},
                              {"shell", true},
                              {"timeout_s", 30}}}));
  const std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}};
  auto receiver = p.start("receiver", {}, env);
  auto router = p.start("router", {}, env);
  auto deployer = p.start("deployer", {"--deployment", "site"}, env);
  REQUIRE(test::http::wait_for_port(p.port, 20s));
  auto all_logs = [&] { return p.log("receiver") + p.log("router") + p.log("deployer"); };
  auto send = [&] {
    auto merged = env;
    merged.insert(kSecretEnv.begin(), kSecretEnv.end());
    return deployctl(p.site.args({"send-test-push", "site", "--timeout", "60"}), merged);
  };

  const auto first = send();
  INFO(first.out + first.err + all_logs());
  REQUIRE(first.status == 0);
  CHECK_THAT(first.out, Catch::Contains("deployed (succeeded)"));
  CHECK(test::checked_out(p.site.dir / "app") == p.site.first_sha);
  CHECK(test::read_file(p.site.dir / "deployed.txt") == p.site.first_sha + "\n");

  // The same tip again: the deployer skips it as already deployed, and says so.
  const auto again = send();
  INFO(again.out + again.err);
  CHECK(again.status == 0);
  CHECK_THAT(again.out, Catch::Contains("not deployed: stale"));

  // A commit whose step fails: exit 1 and the failure's reason.
  const std::string bad = p.site.origin.commit({{"fail", "x\n"}}, "breaks the build");
  const auto failed = send();
  INFO(failed.out + failed.err + all_logs());
  CHECK(failed.status == 1);
  CHECK(count_lines(failed.err) == 1);
  CHECK_THAT(failed.err, Catch::Contains("the deploy failed"));
  CHECK_THAT(failed.err, Catch::Contains("deployctl logs site "));
  CHECK(test::read_file(p.site.dir / "deployed.txt") == p.site.first_sha + "\n" + bad + "\n");

  // enqueue --wait follows an operator's entry the same way: the first commit deployed again.
  const auto replayed = deployctl(
      p.site.args({"enqueue", "site", "--sha", p.site.first_sha, "--wait", "--timeout", "60"}),
      env);
  INFO(replayed.out + replayed.err + all_logs());
  CHECK(replayed.status == 0);
  CHECK(count_lines(replayed.out) == 1);  // the entry's name, alone on stdout
  CHECK_THAT(replayed.err, Catch::Contains("deployed (succeeded)"));
  CHECK(test::read_file(p.site.dir / "deployed.txt") ==
        p.site.first_sha + "\n" + bad + "\n" + p.site.first_sha + "\n");
}
