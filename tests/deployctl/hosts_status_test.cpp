// deployctl status of a deployment on several hosts (docs/hosts.md): the keys of one host are
// this host's (--host), read under its ledger name, and `hosts` adds every host's live release,
// last run and part in the newest rollout; the text shows a row per host and the rollout. The
// ledger holds what three hosts' deployers would have recorded (tests/hosts/fleet_seed.hpp).
#include <catch2/catch.hpp>

#include "common/ledger/migrations.hpp"
#include "tests/deployctl/helpers.hpp"
#include "tests/hosts/fleet_seed.hpp"
#include "tests/support/pg.hpp"

using deployctl_test::deployctl;
using deployctl_test::Site;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

// "site" on web1..web3 in release mode (each host's root is srv/<host>), and "blog" on one host.
struct FleetSite {
  test::Database db;
  Site site;
  std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}};
  FleetSite() {
    auto config = json::parse(test::read_file(site.config));
    auto& deployment = config["deployments"]["site"];
    deployment["path"] = (site.dir / "srv" / "${DEPLOY_HOST}").string();
    deployment["releases"] = {{"keep", 3}};
    deployment["hosts"] = fleet_test::kHosts;
    config["deployments"]["blog"] = {{"repository", "example/blog"},
                                     {"branch", "main"},
                                     {"path", (site.dir / "blog").string()},
                                     {"steps", {{{"name", "build"}, {"run", {"true"}}}}}};
    test::write_file(site.config, config.dump(2));
    // web1's own folders: its live release, as its deployer left it.
    const auto root = site.dir / "srv" / "web1";
    fs::create_directories(root / "releases" / fleet_test::old_release("web1"));
    test::write_file(root / "releases" / fleet_test::old_release("web1") / "REVISION",
                     fleet_test::old_sha() + "\n");
    fs::create_symlink("releases/" + fleet_test::old_release("web1"), root / "current");
    ledger::migrate(db.url());
    fleet_test::seed_failed_rollout(db.url(), "site");
  }
};

}  // namespace

TEST_CASE("status --json keeps this host's keys and adds every host and the newest rollout") {
  FleetSite f;
  const auto out = deployctl(f.site.args({"status", "--json", "--host", "web1"}), f.env);
  INFO(out.err);
  REQUIRE(out.status == 0);
  const auto status = json::parse(out.out);
  CHECK(status["host"] == "web1");
  CHECK(status["database"]["reachable"] == true);
  const auto& d = status["deployments"]["site"];
  // This host's keys, from site@web1: its last success is the old commit, its last failure the
  // rolled-back run.
  CHECK(d["last_success"]["sha"] == fleet_test::old_sha());
  CHECK(d["last_failure"]["sha"] == fleet_test::new_sha());
  CHECK(d["last_failure"]["error"] == "rolled back: the rollout failed on web2");
  CHECK(d["releases"]["live"] == fleet_test::old_release("web1"));

  REQUIRE(d["hosts"].size() == 3);
  const std::vector<std::string> states = {"rolled_back", "failed", "not_switched"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& host = d["hosts"][i];
    const auto& name = fleet_test::kHosts[i];
    INFO(host.dump(2));
    CHECK(host["name"] == name);
    CHECK(host["this_host"] == (i == 0));
    CHECK(host["ledger_name"] == "site@" + name);
    CHECK(host["live_release"] == fleet_test::old_release(name));
    CHECK(host["commit"] == fleet_test::old_sha());
    CHECK(host["last_success"]["sha"] == fleet_test::old_sha());
    CHECK(host["last_run"]["sha"] == fleet_test::new_sha());
    CHECK(host["last_run"]["outcome"] == "failed");
    CHECK(host["rollout"]["entry"] == fleet_test::kRolloutEntry);
    CHECK(host["rollout"]["state"] == "failed");
    CHECK(host["rollout"]["failed_host"] == "web2");
    CHECK(host["rollout"]["host_state"] == states[i]);
    CHECK(host["rollout"]["joined_at"].is_string());
    CHECK(host["rollout"]["built_at"].is_string());
    // Only the hosts that switched have a switch time.
    CHECK(host["rollout"]["switch_started_at"].is_string() == (i < 2));
    CHECK(host["rollout"]["ended_at"].is_string());
  }
  CHECK(d["hosts"][1]["rollout"]["error"] == fleet_test::kHealthError);
  CHECK(d["hosts"][0]["rollout"]["live_at"].is_string());
  CHECK(d["rollout"]["sha"] == fleet_test::new_sha());
  CHECK(d["rollout"]["state"] == "failed");
  CHECK(d["rollout"]["reason"] == std::string("web2: ") + fleet_test::kHealthError);
  CHECK(d["rollout"]["hosts"][2] == json{{"name", "web3"},
                                         {"state", "not_switched"},
                                         {"release", "20261206T020003.000Z-bbbbbbbbbbbb"},
                                         {"error", nullptr}});

  // A deployment on one host is as before: no hosts, no rollout.
  CHECK(status["deployments"]["blog"]["hosts"].is_null());
  CHECK(status["deployments"]["blog"]["rollout"].is_null());
  CHECK(status["deployments"]["blog"]["last_success"].is_null());
}

TEST_CASE("status as another host reads that host's ledger name") {
  FleetSite f;
  const auto out = deployctl(f.site.args({"status", "--json"}),
                             {{"DATABASE_URL", f.db.url()}, {"DEPLOY_HOST", "web3"}});
  INFO(out.err);
  REQUIRE(out.status == 0);
  const auto status = json::parse(out.out);
  CHECK(status["host"] == "web3");
  const auto& d = status["deployments"]["site"];
  CHECK(d["last_failure"]["error"] == "not switched: the rollout failed on web2");
  CHECK(d["hosts"][2]["this_host"] == true);
  CHECK(d["hosts"][0]["this_host"] == false);
}

TEST_CASE("status shows a row per host and the newest rollout in one line") {
  FleetSite f;
  const auto out = deployctl(f.site.args({"status", "--host", "web1"}), f.env);
  INFO(out.out + out.err);
  REQUIRE(out.status == 0);
  CHECK_THAT(out.out, Catch::Contains("instance deployctl-test on host web1"));
  CHECK_THAT(out.out, Catch::Contains("hosts:        3 (* this host; from the ledger)"));
  CHECK_THAT(out.out, Catch::Contains("web1 * live " + fleet_test::old_release("web1") +
                                      " (aaaaaaaaaaaa); last run failed "));
  CHECK_THAT(out.out, Catch::Contains("web2   live " + fleet_test::old_release("web2")));
  CHECK_THAT(out.out,
             Catch::Contains("rollout: failed (" + std::string(fleet_test::kHealthError) + ")"));
  CHECK_THAT(out.out, Catch::Contains("rollout: not_switched"));
  CHECK_THAT(out.out, Catch::Contains("rollout of bbbbbbb: failed on web2 (" +
                                      std::string(fleet_test::kHealthError) +
                                      "): web1 rolled_back, web2 failed, web3 not_switched"));
}

TEST_CASE("status of a deployment on several hosts without a ledger still shows the folders") {
  FleetSite f;
  const auto out = deployctl(f.site.args({"status", "--host", "web1"}),
                             {{"DATABASE_URL", "host=/nonexistent dbname=x"}});
  REQUIRE(out.status == 0);
  CHECK_THAT(out.out, Catch::Contains("web2 unknown (ledger not reachable)"));
  const auto json_out = deployctl(f.site.args({"status", "--json", "--host", "web1"}),
                                  {{"DATABASE_URL", "host=/nonexistent dbname=x"}});
  const auto status = json::parse(json_out.out);
  const auto& d = status["deployments"]["site"];
  CHECK(d["releases"]["live"] == fleet_test::old_release("web1"));
  CHECK(d["hosts"][1]["name"] == "web2");
  CHECK(d["hosts"][1]["last_run"].is_null());
  CHECK(d["rollout"].is_null());
}

TEST_CASE("releases reads the outcomes under this host's ledger name") {
  FleetSite f;
  const auto out = deployctl(f.site.args({"releases", "site", "--json", "--host", "web1"}), f.env);
  INFO(out.err);
  REQUIRE(out.status == 0);
  const auto list = json::parse(out.out);
  REQUIRE(list["releases"].size() == 1);
  CHECK(list["releases"][0]["name"] == fleet_test::old_release("web1"));
  CHECK(list["releases"][0]["outcome"] == "deployed");
}

TEST_CASE("retry of a deployment rolling out on several hosts is refused, naming what to run") {
  FleetSite f;
  const auto failed = f.site.dir / "var" / "failed" / "site";
  fs::create_directories(failed);
  test::write_file(failed / fleet_test::kRolloutEntry, "{}\n");
  const auto out = deployctl(f.site.args({"retry", "site", "--host", "web1"}), f.env);
  CHECK(out.status == 1);
  CHECK(out.err.find("deployctl enqueue site --sha SHA") != std::string::npos);
  // Nothing moved.
  CHECK(fs::exists(failed / fleet_test::kRolloutEntry));
}
