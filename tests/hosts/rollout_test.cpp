// The rolling, health-gated switch across simulated hosts (deployer/rollout.hpp, docs/hosts.md
// "Rolling switch"): three hosts, each with its own real router and deployer (--host), its own
// state folder, release root and app port, one real PostgreSQL, pushes to the first host's real
// receiver over loopback HTTP, a real git origin, and on each host a small real Node.js app that
// the activate step restarts from the live release and the health check asks.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <thread>

#include "common/ledger/rollouts.hpp"
#include "common/rollback_entry.hpp"
#include "tests/deployer/github_api.hpp"
#include "tests/hosts/sim_host.hpp"
#include "tests/support/git.hpp"
#include "tests/support/http.hpp"

using namespace hosts_test;

namespace {

// Answers "<VERSION> <DEPLOY_SHA>"; /up is 500 when VERSION is "sick-<this host>".
const std::string server_js = R"JS(
const http = require('http');
const fs = require('fs');
const version = fs.readFileSync('VERSION', 'utf8').trim();
const sick = version === 'sick-' + process.env.HOST_NAME;
http.createServer((req, res) => {
  res.writeHead(sick && req.url === '/up' ? 500 : 200, {'Content-Type': 'text/plain'});
  res.end(version + ' ' + (process.env.DEPLOY_SHA || ''));
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
)JS";

// (Re)starts the app from path/current in a session of its own, its pid in $DEPLOY_ROOT/app.pid.
const std::string restart_app = R"SH(
pidfile="$DEPLOY_ROOT/app.pid"
if [ -f "$pidfile" ]; then
  old=$(cat "$pidfile")
  kill "$old" 2>/dev/null
  i=0; while kill -0 "$old" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
fi
rm -f "$pidfile"
setsid sh -c 'echo $$ > "$1"; exec node server.js' sh "$pidfile" >>"$DEPLOY_ROOT/app.log" 2>&1 < /dev/null &
i=0; while [ ! -s "$pidfile" ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done
)SH";

nlohmann::json sh(const std::string& name, const std::string& script) {
  return {{"name", name}, {"run", {"sh", "-c", script}}};
}

const std::vector<std::string> kHosts = {"web1", "web2", "web3"};

struct Options {
  int max_parallel = 1;
  int host_timeout_s = 120;
  std::string on_host_down = "wait";
  double build_s = 0;                             // every build sleeps this long
  nlohmann::json top = nlohmann::json::object();  // top-level keys of the configuration
};

// Three hosts of one release-mode deployment "site" and their apps.
class Rollout {
 public:
  explicit Rollout(const Options& options = {})
      : origin_dir_("origin"),
        origin_(origin_dir_.path()),
        ports_{test::free_port(), test::free_port(), test::free_port()},
        fleet_(kHosts, 2, "", site(options), options.top) {
    for (const auto& name : kHosts) hosts_.push_back(std::make_unique<Host>(fleet_, name));
  }
  ~Rollout() {
    for (const auto& name : kHosts) {
      std::ifstream in(fleet_.site_path(name) / "app.pid");
      int pid = 0;
      if (in >> pid && pid > 1) ::kill(pid, SIGKILL);
    }
  }

  Host& host(std::size_t i) { return *hosts_.at(i); }
  const Fleet& fleet() const { return fleet_; }

  // web1's receiver, every router, and the deployers of `deployers` (default: all).
  void start(std::vector<std::size_t> deployers = {0, 1, 2}) {
    host(0).start_receiver();
    for (auto& h : hosts_) h->start_router();
    for (auto i : deployers) host(i).start_deployer();
  }

  std::string commit(const std::string& version) {
    return origin_.commit({{"VERSION", version + "\n"}, {"server.js", server_js}},
                          "version " + version);
  }
  void push(const std::string& sha) {
    REQUIRE(send_push(host(0).port(), test::http::random_delivery(), push_body(sha)) == 202);
  }

  // Commits `version`, pushes it and waits for its rollout to succeed; its sha.
  std::string deploy(const std::string& version) {
    const auto sha = commit(version);
    push(sha);
    REQUIRE(finished(sha).state == ledger::RolloutState::succeeded);
    return sha;
  }

  // What host i's app answers on /.
  std::string answer(std::size_t i) const {
    try {
      auto response = test::http::roundtrip(
          ports_[i], test::http::simple_request("GET", "/", false), std::chrono::seconds(2));
      return response.body;
    } catch (const std::exception& e) {
      return std::string("error: ") + e.what();
    }
  }
  bool all_answer(const std::string& body) const {
    for (std::size_t i = 0; i < kHosts.size(); ++i) {
      if (answer(i) != body) return false;
    }
    return true;
  }

  // The rollout of `sha`, from the ledger.
  std::optional<ledger::Rollout> rollout_of(const std::string& sha) const {
    ledger::Rollouts rollouts(fleet_.url());
    for (auto& r : rollouts.recent("site", 50)) {
      if (r.sha == sha) return std::move(r);
    }
    return std::nullopt;
  }
  // Waits until the rollout of `sha` has ended; REQUIREs that it has.
  ledger::Rollout finished(const std::string& sha, std::chrono::seconds timeout = 120s) {
    std::optional<ledger::Rollout> rollout;
    const bool ended = test::eventually(
        [&] {
          rollout = rollout_of(sha);
          return rollout && rollout->finished();
        },
        timeout);
    INFO(logs());
    REQUIRE(ended);
    return *rollout;
  }
  // Waits until every host has moved its entry of a failed rollout to failed/; the rollout then.
  ledger::Rollout failed_everywhere(const std::string& sha) {
    finished(sha);
    const bool all = test::eventually(
        [&] {
          for (auto& h : hosts_) {
            if (entries(h->layout().failed("site")).empty()) return false;
          }
          return true;
        },
        60s);
    INFO(logs());
    REQUIRE(all);
    return *rollout_of(sha);
  }
  std::string logs() const {
    std::string out;
    for (const auto& h : hosts_) out += "--- " + h->name() + "\n" + h->log();
    return out;
  }

 private:
  nlohmann::json site(const Options& options) const {
    nlohmann::json hosts = nlohmann::json::array();
    for (std::size_t i = 0; i < kHosts.size(); ++i) {
      hosts.push_back({{"name", kHosts[i]},
                       {"env", {{"PORT", std::to_string(ports_[i])}, {"HOST_NAME", kHosts[i]}}}});
    }
    std::string build = "test \"$(cat VERSION)\" != \"nobuild-$HOST_NAME\"";
    if (options.build_s > 0) build += " && sleep " + std::to_string(options.build_s);
    return {{"remote", origin_.url().string()},
            {"hosts", hosts},
            {"rollout",
             {{"max_parallel", options.max_parallel},
              {"host_timeout_s", options.host_timeout_s},
              {"on_host_down", options.on_host_down}}},
            {"releases", {{"keep", 3}}},
            {"steps", nlohmann::json::array({sh("build", build)})},
            {"activate", nlohmann::json::array({sh("restart", restart_app)})},
            {"health_check",
             {{"url", "http://127.0.0.1:${PORT}/up"},
              {"expect_body", "${DEPLOY_SHA}"},
              {"timeout_s", 3},
              {"interval_ms", 50},
              {"successes", 2}}}};
  }

  test::TempDir origin_dir_;
  test::GitOrigin origin_;
  std::vector<unsigned short> ports_;
  Fleet fleet_;
  std::vector<std::unique_ptr<Host>> hosts_;
};

const ledger::RolloutHost& row(const ledger::Rollout& rollout, const std::string& host) {
  const auto* found = rollout.row(host);
  REQUIRE(found != nullptr);
  return *found;
}

// From the ledger's timestamps: no two hosts were ever switching (switch started, not yet live or
// ended) at the same instant more than `max_parallel` at a time; the switch order is `hosts`'.
void check_switch_intervals(const ledger::Rollout& rollout, std::size_t max_parallel) {
  struct Interval {
    ledger::Time from, to;
  };
  std::vector<Interval> intervals;
  for (const auto& name : rollout.hosts) {
    const auto& r = row(rollout, name);
    if (!r.switch_started_at) continue;
    const auto to = r.live_at ? *r.live_at : r.ended_at.value_or(*r.switch_started_at);
    intervals.push_back({*r.switch_started_at, to});
  }
  for (const auto& probe : intervals) {
    std::size_t at_once = 0;
    for (const auto& other : intervals) {
      if (other.from <= probe.from && probe.from < other.to) ++at_once;
    }
    CHECK(at_once <= max_parallel);
  }
  for (std::size_t i = 1; i < intervals.size(); ++i) {
    CHECK(intervals[i - 1].from <= intervals[i].from);
  }
}

}  // namespace

TEST_CASE("rollout: a push deploys to three hosts, one switching at a time, after all built") {
  Rollout site;
  site.start();
  const auto v1 = site.deploy("v1");
  const auto v2 = site.commit("v2");
  site.push(v2);
  const auto rollout = site.finished(v2);
  INFO(site.logs());
  REQUIRE(rollout.state == ledger::RolloutState::succeeded);
  CHECK(site.all_answer("v2 " + v2));
  REQUIRE(rollout.host_rows.size() == 3);
  ledger::Time last_built{};
  ledger::Time first_switch = ledger::Time::max();
  for (const auto& name : kHosts) {
    const auto& r = row(rollout, name);
    CHECK(r.state == ledger::RolloutHostState::live);
    REQUIRE(r.built_at);
    REQUIRE(r.switch_started_at);
    REQUIRE(r.live_at);
    last_built = std::max(last_built, *r.built_at);
    first_switch = std::min(first_switch, *r.switch_started_at);
  }
  // Every host built before any switched: nothing live changed while a build could still fail.
  CHECK(last_built <= first_switch);
  check_switch_intervals(rollout, 1);
  // Each host's own records, under its ledger name (the last host to go live records its run
  // just after the rollout's end).
  for (const auto& name : kHosts) {
    CHECK(test::eventually(
        [&] {
          return site.fleet().count("SELECT count(*) FROM runs WHERE deployment = 'site@" + name +
                                    "' AND outcome = 'succeeded'") == 2;
        },
        10s));
  }
  CHECK(site.fleet().count("SELECT count(*) FROM runs WHERE deployment = 'site'") == 0);
}

TEST_CASE(
    "rollout: the second host fails its health check: the first rolls back, the third "
    "never switches") {
  Rollout site;
  site.start();
  const auto v1 = site.deploy("v1");
  const auto bad = site.commit("sick-web2");
  site.push(bad);
  const auto rollout = site.failed_everywhere(bad);
  INFO(site.logs());
  CHECK(rollout.state == ledger::RolloutState::failed);
  CHECK(rollout.failed_host == "web2");
  CHECK(rollout.reason.find("health check") != std::string::npos);
  CHECK(row(rollout, "web1").state == ledger::RolloutHostState::rolled_back);
  CHECK(row(rollout, "web2").state == ledger::RolloutHostState::failed);
  CHECK(row(rollout, "web3").state == ledger::RolloutHostState::not_switched);
  CHECK(!row(rollout, "web3").switch_started_at);
  check_switch_intervals(rollout, 1);
  // Every host serves the previous release again (or still).
  CHECK(test::eventually([&] { return site.all_answer("v1 " + v1); }, 20s));
}

TEST_CASE("rollout: a build failing on one host ends the rollout before any host switches") {
  Rollout site;
  site.start();
  const auto v1 = site.deploy("v1");
  const auto bad = site.commit("nobuild-web3");
  site.push(bad);
  const auto rollout = site.failed_everywhere(bad);
  INFO(site.logs());
  CHECK(rollout.state == ledger::RolloutState::failed);
  CHECK(rollout.failed_host == "web3");
  // A host that took the entry after the failure never joined: it has no row.
  for (const auto& r : rollout.host_rows) CHECK(!r.switch_started_at);
  CHECK(row(rollout, "web3").state == ledger::RolloutHostState::failed);
  CHECK(site.all_answer("v1 " + v1));
}

TEST_CASE(
    "rollout: kill -9 of one host's router and deployer while it builds, and of the whole "
    "of another while the first switches: both return and the rollout completes") {
  Options options;
  options.build_s = 2;
  Rollout site(options);
  site.start();
  const auto v1 = site.deploy("v1");

  const auto v2 = site.commit("v2");
  site.push(v2);
  const auto state_of = [&](const std::string& host) -> std::optional<ledger::RolloutHostState> {
    const auto rollout = site.rollout_of(v2);
    if (!rollout || rollout->row(host) == nullptr) return std::nullopt;
    return rollout->row(host)->state;
  };
  REQUIRE(test::eventually([&] { return state_of("web2") == ledger::RolloutHostState::building; },
                           30s));
  site.host(1).kill9_router();
  site.host(1).kill9_deployer();
  std::this_thread::sleep_for(1s);
  site.host(1).start_router();
  site.host(1).start_deployer();
  // web3 dies whole once web1 has its turn (or is live already).
  REQUIRE(test::eventually(
      [&] {
        const auto s = state_of("web1");
        return s == ledger::RolloutHostState::switching || s == ledger::RolloutHostState::live;
      },
      60s));
  site.host(2).kill9_all();
  std::this_thread::sleep_for(1s);
  site.host(2).start_router();
  site.host(2).start_deployer();

  const auto rollout = site.finished(v2);
  INFO(site.logs());
  CHECK(rollout.state == ledger::RolloutState::succeeded);
  for (const auto& name : kHosts) CHECK(row(rollout, name).state == ledger::RolloutHostState::live);
  check_switch_intervals(rollout, 1);
  CHECK(test::eventually([&] { return site.all_answer("v2 " + v2); }, 20s));
  // Each host deployed v2 exactly once.
  for (const auto& name : kHosts) {
    const std::string sql = "SELECT count(*) FROM runs WHERE deployment = 'site@" + name +
                            "' AND sha = '" + v2 + "' AND outcome = 'succeeded'";
    CHECK(test::eventually([&] { return site.fleet().count(sql) == 1; }, 10s));
  }
}

TEST_CASE(
    "rollout: a host that is down is skipped after host_timeout_s with on_host_down skip, "
    "and catches up on its own when it returns") {
  Options options;
  options.host_timeout_s = 3;
  options.on_host_down = "skip";
  Rollout site(options);
  site.start({0, 1});  // web3's deployer is down
  const auto v1 = site.commit("v1");
  site.push(v1);
  const auto rollout = site.finished(v1, 60s);
  INFO(site.logs());
  CHECK(rollout.state == ledger::RolloutState::succeeded);
  CHECK(row(rollout, "web3").state == ledger::RolloutHostState::skipped);
  CHECK(site.answer(0) == "v1 " + v1);
  CHECK(site.answer(1) == "v1 " + v1);
  site.host(2).start_deployer();
  CHECK(test::eventually([&] { return site.answer(2) == "v1 " + v1; }, 60s));
}

TEST_CASE(
    "rollout: hosts waiting for a host that is down (on_host_down wait) move on to a newer "
    "push, which reaches every host once it returns") {
  Rollout site;
  site.start({0, 1});  // web3's deployer is down
  const auto v1 = site.commit("v1");
  site.push(v1);
  // web1 and web2 build v1 and wait for web3.
  REQUIRE(test::eventually(
      [&] {
        const auto r = site.rollout_of(v1);
        return r && r->row("web1") && r->row("web2") &&
               r->row("web1")->state == ledger::RolloutHostState::built &&
               r->row("web2")->state == ledger::RolloutHostState::built;
      },
      60s));
  const auto v2 = site.commit("v2");
  site.push(v2);
  const auto superseded = site.finished(v1, 60s);
  CHECK(superseded.state == ledger::RolloutState::superseded);
  for (const auto& name : kHosts) {
    if (const auto* r = superseded.row(name)) CHECK(!r->switch_started_at);
  }
  site.host(2).start_deployer();
  const auto rollout = site.finished(v2);
  INFO(site.logs());
  CHECK(rollout.state == ledger::RolloutState::succeeded);
  CHECK(site.all_answer("v2 " + v2));
  // web3 recorded v1 as superseded without building it.
  CHECK(site.fleet().count("SELECT count(*) FROM queue_items WHERE deployment = 'site@web3'"
                           " AND sha = '" +
                           v1 + "' AND state = 'superseded'") == 1);
}

TEST_CASE("rollout: GitHub sees one deployment per push, its statuses describing the rollout") {
  const std::string token = "ghp_rollout_test_token";
  test::deployer::GitHubApi api(test::free_port(), token);
  api.start();
  Options options;
  options.top = {{"github",
                  {{"api_url", api.url()},
                   {"token", {{"env", "GITHUB_TOKEN"}}},
                   {"deployments", true},
                   {"commit_statuses", true}}}};
  Rollout site(options);
  for (std::size_t i = 0; i < kHosts.size(); ++i) site.host(i).set_env("GITHUB_TOKEN", token);
  site.start();
  const auto v1 = site.deploy("v1");
  // The first host speaks for the deployment: one GitHub deployment, ending in success.
  const auto ended = [&] {
    const auto id = api.deployment_for(v1);
    const auto states = api.states(id);
    return id != 0 && !states.empty() && states.back() == "success";
  };
  INFO(site.logs());
  REQUIRE(test::eventually(ended, 30s));
  std::this_thread::sleep_for(1s);  // anything another host might (wrongly) post arrives too
  int created = 0;
  for (const auto& deployment : api.deployments()) created += deployment["ref"] == v1 ? 1 : 0;
  CHECK(created == 1);
  const auto statuses = api.statuses(api.deployment_for(v1));
  std::vector<std::string> descriptions;
  for (const auto& status : statuses) descriptions.push_back(status.value("description", ""));
  INFO("descriptions: " << nlohmann::json(descriptions).dump());
  // Where the rollout stood, as it went: at least one status names every host and its state.
  const bool described = std::any_of(descriptions.begin(), descriptions.end(), [&](auto& d) {
    return d.starts_with("Rolling out " + v1.substr(0, 7) + ": web1 ") &&
           d.find(", web2 ") != std::string::npos && d.find(", web3 ") != std::string::npos;
  });
  CHECK(described);
  CHECK(descriptions.back().starts_with("Deployed on 3 hosts in "));
  // One commit status per state, not one per host.
  int successes = 0;
  for (const auto& status : api.commit_statuses()) {
    if (status["sha"] == v1 && status["state"] == "success") ++successes;
  }
  CHECK(successes == 1);
}

TEST_CASE("rollout: a rollback entry on every host rolls them back in turn, as a push rolls out") {
  Rollout site;
  site.start();
  const auto v1 = site.deploy("v1");
  const auto v2 = site.deploy("v2");
  REQUIRE(site.all_answer("v2 " + v2));
  // What `deployctl rollback --to <v1>` puts in every host's queue: one entry, one name. The
  // release names differ per host; the commit names the same release on each.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  char stamp[32];
  std::snprintf(
      stamp, sizeof stamp, "%020lld",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
  const std::string name = std::string(stamp) + "-rollback-test.json";
  const auto text = common::write_rollback_entry("example/app", v1, "tester");
  for (std::size_t i = 0; i < kHosts.size(); ++i) {
    const auto queue = site.host(i).layout().queue("site");
    test::write_file(queue.parent_path() / ("." + name + ".tmp"), text);
    std::filesystem::rename(queue.parent_path() / ("." + name + ".tmp"), queue / name);
  }
  std::optional<ledger::Rollout> rollback;
  REQUIRE(test::eventually(
      [&] {
        ledger::Rollouts rollouts(site.fleet().url());
        const auto r = rollouts.rollout("site", name);
        if (r && r->finished()) rollback = r;
        return rollback.has_value();
      },
      120s));
  INFO(site.logs());
  CHECK(rollback->state == ledger::RolloutState::succeeded);
  CHECK(rollback->sha == v1);
  check_switch_intervals(*rollback, 1);
  CHECK(test::eventually([&] { return site.all_answer("v1 " + v1); }, 20s));
}
