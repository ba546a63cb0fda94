// deployctl rollback of a release-mode deployment on three simulated hosts, end to end: each
// host's real router and deployer (--host), one real PostgreSQL, a real git origin. After two
// rolling deploys, `deployctl rollback` on one host sends its entry to every host, and their
// deployers roll back as one rollout (one host switching at a time, proved from the ledger's
// timestamps), each to its own release of the target commit. deployctl status then shows each
// host's live release from the ledger.
#include <catch2/catch.hpp>

#include "common/ledger/rollouts.hpp"
#include "common/process.hpp"
#include "common/release_layout.hpp"
#include "tests/hosts/sim_host.hpp"
#include "tests/support/git.hpp"
#include "tests/support/http.hpp"

using namespace hosts_test;
using nlohmann::json;

namespace {

const std::vector<std::string> kHosts = {"web1", "web2", "web3"};

struct Output {
  int status = -1;
  std::string out;
  std::string err;
};

Output deployctl(const Fleet& fleet, const std::vector<std::string>& args) {
  common::Command command;
  command.argv = {test::bin("deployctl").string(), "--config", fleet.config().string()};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  command.env = common::environment_with({{"DATABASE_URL", fleet.url()}});
  command.timeout = 180s;
  const auto result = common::run_captured(command);
  REQUIRE(result.outcome.ending == common::Ending::exited);
  return {result.outcome.exit_code, result.out, result.err};
}

std::optional<ledger::Rollout> rollout_of(const Fleet& fleet, const std::string& sha) {
  for (auto& rollout : ledger::Rollouts(fleet.url()).recent("site", 20)) {
    if (rollout.sha == sha) return std::move(rollout);
  }
  return std::nullopt;
}

// The live release of `host` and its commit, from its folders.
std::pair<std::string, std::string> live_of(const Fleet& fleet, const std::string& host) {
  const common::ReleaseLayout layout(fleet.site_path(host));
  std::error_code ec;
  const auto live = layout.live(ec);
  if (!live) return {"", ""};
  return {*live, layout.revision(*live)};
}

}  // namespace

// Three hosts of "site" in release mode, each with its receiver (web1's only), router and
// deployer. The activate step fails on a host once the test has created <sick>/sick-<host>.
struct RollingFleet {
  test::TempDir origin_dir{"origin"};
  test::GitOrigin origin{origin_dir.path()};
  test::TempDir sick{"sick"};
  Fleet fleet{kHosts, 2, "", site()};
  std::vector<std::unique_ptr<Host>> hosts;

  RollingFleet() {
    for (const auto& name : kHosts) hosts.push_back(std::make_unique<Host>(fleet, name));
    hosts[0]->start_receiver();
    for (auto& host : hosts) host->start_router();
    for (auto& host : hosts) host->start_deployer();
  }
  json site() const {
    json hosts_key = json::array();
    for (const auto& name : kHosts)
      hosts_key.push_back({{"name", name}, {"env", {{"HOST_NAME", name}}}});
    return {{"remote", origin.url().string()},
            {"releases", {{"keep", 3}}},
            {"rollout", {{"max_parallel", 1}}},
            {"hosts", hosts_key},
            {"env", {{"SICK_DIR", sick.path().string()}}},
            {"steps", json::array({{{"name", "build"}, {"run", {"true"}}}})},
            {"activate",
             json::array({{{"name", "start"},
                           {"run", {"sh", "-c", "test ! -e \"$SICK_DIR/sick-$HOST_NAME\""}}}})}};
  }
  std::string logs() const {
    std::string out;
    for (const auto& host : hosts) out += "--- " + host->name() + "\n" + host->log();
    return out;
  }
  // Pushes a new commit and waits until every host runs it.
  std::string deploy(const std::string& version) {
    const auto sha = origin.commit({{"VERSION", version + "\n"}}, "version " + version);
    REQUIRE(send_push(hosts[0]->port(), test::http::random_delivery(), push_body(sha)) == 202);
    const bool live_everywhere = test::eventually(
        [&] {
          for (const auto& name : kHosts) {
            if (live_of(fleet, name).second != sha) return false;
          }
          return true;
        },
        120s);
    INFO(logs());
    REQUIRE(live_everywhere);
    return sha;
  }
  std::map<std::string, std::string> live_releases() const {
    std::map<std::string, std::string> out;
    for (const auto& name : kHosts) out[name] = live_of(fleet, name).first;
    return out;
  }
};

TEST_CASE("fleet: deployctl rollback rolls every host back to its own release, one at a time") {
  RollingFleet f;
  const auto& fleet = f.fleet;
  const auto v1 = f.deploy("v1");
  auto v1_release = f.live_releases();
  f.deploy("v2");

  const auto out =
      deployctl(fleet, {"rollback", "site", "--host", "web2", "--wait", "--timeout", "150"});
  INFO(out.out + out.err + f.logs());
  REQUIRE(out.status == 0);
  const std::string entry = out.out.substr(0, out.out.find('\n'));

  // Every host back on its own release of v1 (found from the commit: release names are each
  // host's own, and equal only when two hosts happened to build in the same millisecond).
  REQUIRE(test::eventually(
      [&] {
        for (const auto& name : kHosts) {
          if (live_of(fleet, name) != std::pair{v1_release[name], v1}) return false;
        }
        return true;
      },
      120s));

  // One rollout of the rollback entry, every host live, never two switching at once.
  const auto rollout = ledger::Rollouts(fleet.url()).rollout("site", entry);
  REQUIRE(rollout);
  CHECK(rollout->sha == v1);
  CHECK(rollout->state == ledger::RolloutState::succeeded);
  REQUIRE(rollout->host_rows.size() == 3);
  std::vector<std::pair<ledger::Time, ledger::Time>> switching;
  for (const auto& row : rollout->host_rows) {
    CHECK(row.state == ledger::RolloutHostState::live);
    REQUIRE(row.switch_started_at);
    REQUIRE(row.live_at);
    switching.emplace_back(*row.switch_started_at, *row.live_at);
  }
  for (const auto& [from, to] : switching) {
    int at_once = 0;
    for (const auto& [other_from, other_to] : switching) {
      if (other_from <= from && from < other_to) ++at_once;
    }
    CHECK(at_once == 1);
  }
  // Each host recorded its rollback under its own ledger name, and the entry arrived once.
  for (const auto& name : kHosts) {
    CHECK(test::eventually(
        [&] {
          return fleet.count("SELECT count(*) FROM rollbacks WHERE deployment = 'site@" + name +
                             "' AND kind = 'operator' AND to_sha = '" + v1 + "'") == 1;
        },
        20s));
    CHECK(test::eventually([&] { return entries(fleet.layout(name).done("site")).size() == 3; },
                           20s));
  }

  // deployctl status as web3: each host's live release and commit from the ledger, and the
  // rollback's rollout as the newest.
  const auto status = deployctl(fleet, {"status", "--json", "--host", "web3"});
  REQUIRE(status.status == 0);
  const auto d = json::parse(status.out)["deployments"]["site"];
  REQUIRE(d["hosts"].size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(d["hosts"][i]["name"] == kHosts[i]);
    CHECK(d["hosts"][i]["commit"] == v1);
    CHECK(d["hosts"][i]["live_release"] == v1_release[kHosts[i]]);
    CHECK(d["hosts"][i]["rollout"]["host_state"] == "live");
  }
  CHECK(d["rollout"]["entry"] == entry);
  CHECK(d["rollout"]["state"] == "succeeded");
  CHECK(d["releases"]["live"] == v1_release["web3"]);
  CHECK(rollout_of(fleet, v1));
}

TEST_CASE("fleet: a rollback that fails on one host leaves every host on the release it had") {
  RollingFleet f;
  f.deploy("v1");
  const auto v2 = f.deploy("v2");
  const auto v2_release = f.live_releases();
  // web2's activate step fails from now on: the rollback's switch fails there.
  test::write_file(f.sick.path() / "sick-web2", "");

  const auto out = deployctl(f.fleet, {"rollback", "site", "--host", "web1"});
  INFO(out.out + out.err + f.logs());
  REQUIRE(out.status == 0);
  const std::string entry = out.out.substr(0, out.out.find('\n'));
  std::optional<ledger::Rollout> rollout;
  REQUIRE(test::eventually(
      [&] {
        rollout = ledger::Rollouts(f.fleet.url()).rollout("site", entry);
        if (!rollout || !rollout->finished()) return false;
        // Until each host has ended its part (web1 goes back after the failure).
        for (const auto& row : rollout->host_rows) {
          if (row.state == ledger::RolloutHostState::live ||
              row.state == ledger::RolloutHostState::built ||
              row.state == ledger::RolloutHostState::switching) {
            return false;
          }
        }
        return rollout->host_rows.size() == 3;
      },
      120s));
  CHECK(rollout->state == ledger::RolloutState::failed);
  CHECK(rollout->failed_host == "web2");
  CHECK(rollout->row("web1")->state == ledger::RolloutHostState::rolled_back);
  CHECK(rollout->row("web2")->state == ledger::RolloutHostState::failed);
  CHECK(rollout->row("web3")->state == ledger::RolloutHostState::not_switched);
  // Every host is on its v2 release again (web1 and web2 went back, web3 never left).
  CHECK(test::eventually([&] { return f.live_releases() == v2_release; }, 30s));
  for (const auto& name : kHosts) CHECK(live_of(f.fleet, name).second == v2);

  // What an operator sees, from any host.
  const auto status = deployctl(f.fleet, {"status", "--host", "web3"});
  REQUIRE(status.status == 0);
  CHECK_THAT(status.out,
             Catch::Contains("rollout of " + rollout->sha.substr(0, 7) + ": failed on web2 ("));
  CHECK_THAT(status.out, Catch::Contains("): web1 rolled_back, web2 failed, web3 not_switched"));
}
