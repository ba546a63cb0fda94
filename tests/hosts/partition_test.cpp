// A network partition between one simulated host and the database (docs/hosts.md "When things
// fail"): host B's programs reach the real PostgreSQL through a TCP relay on loopback
// (tests/support/tcp_relay.hpp) that the test cuts and restores; the other hosts reach it
// directly. Fan-out and routing across the cut, then a cut during a rolling switch
// (deployer/rollout.hpp) while the cut host builds and while another host switches.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "common/ledger/rollouts.hpp"
#include "tests/hosts/sim_host.hpp"
#include "tests/support/git.hpp"
#include "tests/support/http.hpp"
#include "tests/support/tcp_relay.hpp"

using namespace hosts_test;
using Names = std::vector<std::string>;

namespace {

/// The value of `key` in a key=value connection string.
std::string field(const std::string& url, const std::string& key) {
  std::istringstream in(url);
  std::string word;
  while (in >> word) {
    if (word.rfind(key + "=", 0) == 0) return word.substr(key.size() + 1);
  }
  throw std::runtime_error("no " + key + "= in the connection string " + url);
}

/// `url` (the fixture's key=value string, over its unix socket) rewritten to go over TCP to
/// 127.0.0.1:port (the relay) instead.
std::string over_tcp(const std::string& url, unsigned short port) {
  std::istringstream in(url);
  std::string word, out;
  while (in >> word) {
    if (word.rfind("host=", 0) == 0 || word.rfind("port=", 0) == 0) continue;
    out += word + " ";
  }
  return out + "host=127.0.0.1 port=" + std::to_string(port);
}

/// The PostgreSQL server's TCP port (scripts/pg.sh listens on 127.0.0.1 and on a socket).
unsigned short server_port(const std::string& url) {
  return static_cast<unsigned short>(std::stoi(field(url, "port")));
}

/// Hosts A and B of one fleet; B's programs reach the database through the relay.
struct Partitioned {
  Partitioned()
      : relay("127.0.0.1", server_port(direct.url())), a(direct, "host-a"), b(direct, "host-b") {
    b.use_database(over_tcp(direct.url(), relay.port()));
  }

  Fleet direct{std::vector<std::string>{"host-a", "host-b"}};
  test::TcpRelay relay;
  Host a;
  Host b;

  long long undelivered_for_b() const {
    return direct.count(
        "SELECT count(*) FROM fanout_items WHERE host = 'host-b' AND delivered_at IS NULL");
  }
  std::string logs() const { return "host-a log:\n" + a.log() + "\nhost-b log:\n" + b.log(); }
};

bool unique(const Names& names) {
  return std::set<std::string>(names.begin(), names.end()).size() == names.size();
}

}  // namespace

TEST_CASE(
    "partition: the relay forwards to PostgreSQL, cut() breaks and refuses, restore() heals") {
  test::Database database;
  test::TcpRelay relay("127.0.0.1", server_port(database.url()));
  const auto url = over_tcp(database.url(), relay.port());
  pqxx::connection open(url);
  {
    pqxx::nontransaction tx(open);
    CHECK(tx.exec1("SELECT 41 + 1")[0].as<int>() == 42);
  }
  {
    // 2 MB each way: more than the relay buffers per direction (64 KiB), so it must stop reading
    // while the other side is slow to take the bytes and resume, without losing or reordering.
    std::string big(2'000'000, 'x');
    for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
    pqxx::work tx(open);
    const auto result = tx.exec_params("SELECT $1::text || 'end'", big);
    CHECK(result[0][0].as<std::string>() == big + "end");
  }
  CHECK(relay.forwarded() == 1);

  relay.cut();
  CHECK(relay.is_cut());
  CHECK(relay.dropped() == 1);
  // The open connection is gone, and no new one gets through while cut.
  CHECK_THROWS_AS(pqxx::nontransaction(open).exec1("SELECT 1"), pqxx::broken_connection);
  CHECK_THROWS_AS(pqxx::connection(url), pqxx::broken_connection);
  CHECK(relay.dropped() == 2);

  // The server itself never noticed: a direct connection still works.
  pqxx::connection direct(database.url());
  CHECK(pqxx::nontransaction(direct).exec1("SELECT 1")[0].as<int>() == 1);

  relay.restore();
  pqxx::connection again(url);
  CHECK(pqxx::nontransaction(again).exec1("SELECT 2")[0].as<int>() == 2);
  CHECK(relay.forwarded() == 2);
}

TEST_CASE("partition: pushes routed while host B is cut off reach it exactly once after restore") {
  Partitioned fleet;
  auto& [direct, relay, a, b] = fleet;
  a.start_receiver();
  a.start_router();
  b.start_router();
  INFO(fleet.logs());
  REQUIRE(send_push(a.port(), test::http::random_delivery(), push_body(sha(700))) == 202);
  REQUIRE(test::eventually([&] { return a.queued().size() == 1 && b.queued().size() == 1; }, 30s));
  // Published and marked delivered (a cut between the two is harmless, but not this test's case).
  REQUIRE(test::eventually([&] { return fleet.undelivered_for_b() == 0; }, 10s));

  relay.cut();
  // Host A is on the database's side: it keeps routing, and records items for host B.
  constexpr unsigned pushes = 4;
  for (unsigned i = 1; i <= pushes; ++i) {
    REQUIRE(send_push(a.port(), test::http::random_delivery(), push_body(sha(700 + i))) == 202);
  }
  REQUIRE(test::eventually([&] { return a.queued().size() == 1 + pushes; }, 30s));
  CHECK(test::eventually([&] { return fleet.undelivered_for_b() == pushes; }, 10s));
  // Several of host B's polls (rescan_s 2) and reconnection attempts later, nothing got through.
  std::this_thread::sleep_for(6s);
  CHECK(b.queued().size() == 1);
  CHECK(fleet.undelivered_for_b() == pushes);
  CHECK(relay.dropped() >= 2);  // at least B's router's ledger connections were cut

  relay.restore();
  REQUIRE(test::eventually([&] { return b.queued().size() == 1 + pushes; }, 60s));
  CHECK(test::eventually([&] { return fleet.undelivered_for_b() == 0; }, 20s));
  std::this_thread::sleep_for(4s);  // more polls: nothing arrives twice
  CHECK(b.queued() == a.queued());
  CHECK(unique(b.queued()));
  CHECK(b.count_log("fan-out paused") == 1);  // one line per change of state, not per retry
  CHECK(b.count_log("fan-out resumed") == 1);
  CHECK(a.count_log("paused") == 0);  // host A never noticed
  CHECK(a.stop_router() == 0);
  CHECK(b.stop_router() == 0);
}

TEST_CASE(
    "partition: host B's receiver accepts while it is cut off, its pushes go out after restore") {
  Partitioned fleet;
  auto& [direct, relay, a, b] = fleet;
  a.start_router();
  b.start_receiver();
  b.start_router();
  INFO(fleet.logs());
  REQUIRE(send_push(b.port(), test::http::random_delivery(), push_body(sha(800))) == 202);
  REQUIRE(test::eventually([&] { return a.queued().size() == 1 && b.queued().size() == 1; }, 30s));
  // B's router is done with it: its decision recorded and the entry gone from its inbox.
  REQUIRE(test::eventually(
      [&] {
        return entries(b.layout().inbox()).empty() &&
               direct.count("SELECT count(*) FROM deliveries") == 1;
      },
      10s));

  relay.cut();
  // The receiver never needs the database: every push is accepted and waits in B's inbox.
  constexpr unsigned pushes = 3;
  std::set<std::string> deliveries;
  for (unsigned i = 1; i <= pushes; ++i) {
    const auto delivery = test::http::random_delivery();
    deliveries.insert(delivery);
    REQUIRE(send_push(b.port(), delivery, push_body(sha(800 + i))) == 202);
  }
  std::this_thread::sleep_for(6s);
  CHECK(entries(b.layout().inbox()).size() == pushes);
  CHECK(b.queued().size() == 1);
  CHECK(a.queued().size() == 1);  // nothing was routed, so nothing fanned out to A either
  CHECK(direct.count("SELECT count(*) FROM deliveries") == 1);

  relay.restore();
  REQUIRE(test::eventually(
      [&] { return b.queued().size() == 1 + pushes && a.queued().size() == 1 + pushes; }, 60s));
  CHECK(test::eventually([&] { return entries(b.layout().inbox()).empty(); }, 10s));
  std::this_thread::sleep_for(4s);
  CHECK(a.queued() == b.queued());
  CHECK(unique(a.queued()));
  for (const auto& delivery : deliveries) {
    CHECK(direct.count("SELECT count(*) FROM deliveries WHERE delivery_id = '" + delivery +
                       "' AND decision = 'routed'") == 1);
  }
  CHECK(direct.count(
            "SELECT count(*) FROM fanout_items WHERE host = 'host-a' AND delivered_at IS NULL") ==
        0);
  CHECK(b.count_log("routing paused, entries wait in the inbox") >= 1);
  CHECK(b.count_log("routing resumed") >= 1);
  CHECK(a.stop_router() == 0);
  CHECK(b.stop_router() == 0);
}

namespace {

// ---- A cut database connection during a rollout -------------------------------------------

const std::vector<std::string> kRollingHosts = {"web1", "web2", "web3"};

// Each host's app: answers the live release's VERSION file (path/current/VERSION, written by the
// build step), so the switch of `current` is what changes the answer and no restart is needed.
const char* const kApp = R"JS(
const fs = require('fs');
const file = process.env.SITE + '/current/VERSION';
require('http').createServer((req, res) => {
  fs.readFile(file, 'utf8', (error, text) => {
    res.writeHead(error ? 503 : 200, {'Content-Type': 'text/plain'});
    res.end(error ? 'no release' : text);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
)JS";

// Three hosts of a release-mode deployment "site" that switch one at a time (max_parallel 1);
// web2's router and deployer reach PostgreSQL through the relay. Builds take `build_s`, the
// activate step `activate_s`, so a test can cut while a host is in either.
class RollingFleet {
 public:
  RollingFleet(double build_s, double activate_s)
      : origin_dir_("origin"),
        origin_(origin_dir_.path()),
        ports_{test::free_port(), test::free_port(), test::free_port()},
        fleet_(kRollingHosts, 2, "", site(build_s, activate_s)),
        relay_("127.0.0.1", server_port(fleet_.url())) {
    for (std::size_t i = 0; i < kRollingHosts.size(); ++i) {
      hosts_.push_back(std::make_unique<Host>(fleet_, kRollingHosts[i]));
      apps_.emplace_back(
          std::vector<std::string>{"/usr/bin/env", "node", "-e", kApp},
          std::map<std::string, std::string>{{"PORT", std::to_string(ports_[i])},
                                             {"SITE", fleet_.site_path(kRollingHosts[i]).string()}},
          fleet_.root() / (kRollingHosts[i] + "-app.log"));
    }
    hosts_[1]->use_database(over_tcp(fleet_.url(), relay_.port()));
    hosts_[0]->start_receiver();
    for (auto& host : hosts_) {
      host->start_router();
      host->start_deployer();
    }
  }

  Host& host(std::size_t i) { return *hosts_.at(i); }
  const Fleet& fleet() const { return fleet_; }
  test::TcpRelay& relay() { return relay_; }

  std::string commit(const std::string& message) {
    return origin_.commit({{"NOTES", message + "\n"}}, message);
  }
  void push(const std::string& sha) {
    REQUIRE(send_push(host(0).port(), test::http::random_delivery(), push_body(sha)) == 202);
  }
  // Commits, pushes and waits for the rollout to succeed everywhere; the sha.
  std::string deploy(const std::string& message) {
    const auto sha = commit(message);
    push(sha);
    const auto rollout = finished(sha, 120s);
    INFO(logs());
    REQUIRE(rollout);
    REQUIRE(rollout->state == ledger::RolloutState::succeeded);
    return sha;
  }
  std::string answer(std::size_t i) const {
    try {
      return test::http::roundtrip(ports_[i], test::http::simple_request("GET", "/", false),
                                   std::chrono::seconds(2))
          .body;
    } catch (const std::exception& e) {
      return std::string("error: ") + e.what();
    }
  }
  std::optional<ledger::Rollout> rollout_of(const std::string& sha) const {
    ledger::Rollouts rollouts(fleet_.url());
    for (auto& r : rollouts.recent("site", 20)) {
      if (r.sha == sha) return std::move(r);
    }
    return std::nullopt;
  }
  std::optional<ledger::RolloutHostState> state_of(const std::string& sha,
                                                   const std::string& host) const {
    const auto rollout = rollout_of(sha);
    if (!rollout || rollout->row(host) == nullptr) return std::nullopt;
    return rollout->row(host)->state;
  }
  /// Waits (bounded) for the rollout of `sha` to end; nullopt when it did not.
  std::optional<ledger::Rollout> finished(const std::string& sha, std::chrono::seconds timeout) {
    std::optional<ledger::Rollout> rollout;
    test::eventually(
        [&] {
          rollout = rollout_of(sha);
          return rollout && rollout->finished();
        },
        timeout);
    if (!rollout || !rollout->finished()) return std::nullopt;
    return rollout;
  }
  std::string logs() const {
    std::string out;
    for (const auto& h : hosts_) out += "--- " + h->name() + "\n" + h->log();
    return out;
  }

 private:
  nlohmann::json site(double build_s, double activate_s) const {
    nlohmann::json hosts = nlohmann::json::array();
    for (std::size_t i = 0; i < kRollingHosts.size(); ++i) {
      hosts.push_back({{"name", kRollingHosts[i]}, {"env", {{"PORT", std::to_string(ports_[i])}}}});
    }
    const auto sh = [](const std::string& name, const std::string& script) {
      return nlohmann::json{{"name", name}, {"run", {"sh", "-c", script}}};
    };
    return {{"remote", origin_.url().string()},
            {"hosts", hosts},
            {"rollout", {{"max_parallel", 1}, {"host_timeout_s", 120}, {"on_host_down", "wait"}}},
            {"releases", {{"keep", 3}}},
            {"steps",
             nlohmann::json::array({sh("build", "printf '%s' \"$DEPLOY_SHA\" > VERSION && sleep " +
                                                    std::to_string(build_s))})},
            {"activate",
             nlohmann::json::array({sh("activate", "sleep " + std::to_string(activate_s))})},
            {"health_check",
             {{"url", "http://127.0.0.1:${PORT}/up"},
              {"expect_body", "${DEPLOY_SHA}"},
              {"timeout_s", 10},
              {"interval_ms", 50},
              {"successes", 2}}}};
  }

  test::TempDir origin_dir_;
  test::GitOrigin origin_;
  std::vector<unsigned short> ports_;
  Fleet fleet_;
  test::TcpRelay relay_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<test::Child> apps_;
};

// The rollout of `sha` as the ledger has it once it ended: it succeeded, every host is live and
// deployed it exactly once, never more than one host was switching at one instant, in the order
// of `hosts`, and every app answers it.
void check_rolled_out_once(RollingFleet& site, const std::string& sha) {
  const auto rollout = site.finished(sha, 120s);
  INFO(site.logs());
  REQUIRE(rollout);
  CHECK(rollout->state == ledger::RolloutState::succeeded);
  struct Interval {
    ledger::Time from, to;
  };
  std::vector<Interval> switching;
  for (const auto& name : kRollingHosts) {
    const auto* row = rollout->row(name);
    REQUIRE(row != nullptr);
    CHECK(row->state == ledger::RolloutHostState::live);
    REQUIRE(row->switch_started_at);
    REQUIRE(row->live_at);
    switching.push_back({*row->switch_started_at, *row->live_at});
  }
  // One at a time, in the order of `hosts`: each host's switch starts once the one before it is
  // live (the ledger writes these times after taking the deployment's lock).
  for (std::size_t i = 1; i < switching.size(); ++i) {
    INFO("host " << kRollingHosts[i] << " began switching "
                 << std::chrono::duration<double>(switching[i].from - switching[i - 1].to).count()
                 << " s after " << kRollingHosts[i - 1] << " was live");
    CHECK(switching[i - 1].from <= switching[i].from);
    CHECK(switching[i - 1].to <= switching[i].from);
  }
  for (std::size_t i = 0; i < kRollingHosts.size(); ++i) {
    CHECK(test::eventually([&] { return site.answer(i) == sha; }, 20s));
    const std::string ledger_name = "site@" + kRollingHosts[i];
    const std::string runs = "SELECT count(*) FROM runs WHERE deployment = '" + ledger_name +
                             "' AND sha = '" + sha + "' AND outcome = 'succeeded'";
    CHECK(test::eventually([&] { return site.fleet().count(runs) == 1; }, 10s));
    CHECK(site.fleet().count("SELECT count(*) FROM runs WHERE deployment = '" + ledger_name +
                             "' AND sha = '" + sha + "'") == 1);
    // One switch of `current` to the release of `sha`, and no rollback.
    CHECK(site.fleet().count("SELECT count(*) FROM switches s JOIN releases r ON r.deployment ="
                             " s.deployment AND r.name = s.to_release WHERE s.deployment = '" +
                             ledger_name + "' AND r.sha = '" + sha + "'") == 1);
  }
  CHECK(site.fleet().count("SELECT count(*) FROM rollbacks") == 0);
}

}  // namespace

TEST_CASE(
    "partition: web2's database connection cut while it builds: the rollout waits for it, "
    "then completes with every host live once") {
  RollingFleet site(2.0, 1.0);
  const auto v1 = site.deploy("v1");
  const auto v2 = site.commit("v2");
  site.push(v2);
  REQUIRE(test::eventually(
      [&] { return site.state_of(v2, "web2") == ledger::RolloutHostState::building; }, 30s));
  site.relay().cut();
  std::this_thread::sleep_for(5s);
  // web1 and web3 built meanwhile, but nobody switches before web2 says it built too.
  {
    const auto rollout = site.rollout_of(v2);
    REQUIRE(rollout);
    CHECK(rollout->state == ledger::RolloutState::building);
    for (const auto& r : rollout->host_rows) CHECK(!r.switch_started_at);
    CHECK(site.answer(0) == v1);
  }
  site.relay().restore();
  check_rolled_out_once(site, v2);
  // web2's deployer did meet the cut, and waited it out rather than failing.
  CHECK(site.host(1).count_log("ledger unavailable: waiting for it, nothing is lost") >= 1);
  CHECK(site.host(1).count_log("ledger answers again: continuing") >= 1);
  CHECK(site.relay().dropped() >= 1);
}

TEST_CASE(
    "partition: web2's database connection cut while web1 switches: web2 takes its turn "
    "once it is back, every host live once") {
  RollingFleet site(0.0, 2.0);
  const auto v1 = site.deploy("v1");
  const auto v2 = site.commit("v2");
  site.push(v2);
  REQUIRE(test::eventually(
      [&] { return site.state_of(v2, "web1") == ledger::RolloutHostState::switching; }, 60s));
  site.relay().cut();
  // web1's activation (2 s) ends and it goes live while web2, whose turn it is, cannot hear.
  REQUIRE(test::eventually(
      [&] { return site.state_of(v2, "web1") == ledger::RolloutHostState::live; }, 30s));
  std::this_thread::sleep_for(3s);
  // Its turn has come, but it cannot take it: nobody else switches meanwhile.
  CHECK(site.state_of(v2, "web2") == ledger::RolloutHostState::built);
  CHECK(site.state_of(v2, "web3") == ledger::RolloutHostState::built);
  CHECK(site.answer(2) == v1);
  site.relay().restore();
  check_rolled_out_once(site, v2);
  // web2's deployer did meet the cut, and waited it out rather than failing.
  CHECK(site.host(1).count_log("ledger unavailable: waiting for it, nothing is lost") >= 1);
  CHECK(site.host(1).count_log("ledger answers again: continuing") >= 1);
}
