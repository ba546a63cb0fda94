// A network partition between one simulated host and the database (docs/hosts.md "When things
// fail"): host B's programs reach the real PostgreSQL through a TCP relay on loopback
// (tests/support/tcp_relay.hpp) that the test cuts and restores; host A reaches it directly.
// The two hosts share the database and the fleet's description; each has its own configuration
// file only because the relay's port is part of host B's connection string.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "tests/hosts/sim_host.hpp"
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

/// Host A's fleet (direct to the database) and host B's (the same database through the relay).
struct Partitioned {
  Partitioned()
      : direct({"host-a", "host-b"}),
        relay("127.0.0.1", server_port(direct.url())),
        relayed({"host-a", "host-b"}, 2, over_tcp(direct.url(), relay.port())),
        a(direct, "host-a"),
        b(relayed, "host-b") {}

  Fleet direct;
  test::TcpRelay relay;
  Fleet relayed;  // its own folder and file; its state_dir for host-b is the only one used
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
  auto& [direct, relay, relayed, a, b] = fleet;
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
  auto& [direct, relay, relayed, a, b] = fleet;
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
