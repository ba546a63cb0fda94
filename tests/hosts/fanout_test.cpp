// Fan-out through the ledger between simulated hosts (router/fanout.hpp, docs/hosts.md): the
// real receiver and router of each host, each with its own --host and state folder, over HTTP on
// loopback, one real PostgreSQL.
#include <catch2/catch.hpp>

#include <csignal>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "common/ledger/migrations.hpp"
#include "queue-layout/read.hpp"
#include "tests/hosts/sim_host.hpp"
#include "tests/support/http.hpp"

using namespace hosts_test;
using Names = std::vector<std::string>;

namespace {

std::string bytes_of(const std::filesystem::path& dir, const std::string& name) {
  return test::read_file(dir / name);
}

long long delivered(const Fleet& fleet, const std::string& host) {
  return fleet.count("SELECT count(*) FROM fanout_items WHERE host = '" + host +
                     "' AND delivered_at IS NOT NULL");
}

long long items(const Fleet& fleet, const std::string& host) {
  return fleet.count("SELECT count(*) FROM fanout_items WHERE host = '" + host + "'");
}

}  // namespace

TEST_CASE("hosts: a push received on host A is queued exactly once on A and on B") {
  Fleet fleet({"host-a", "host-b"});
  Host a(fleet, "host-a");
  Host b(fleet, "host-b");
  a.start_receiver();
  a.start_router();
  b.start_router();

  const auto delivery = test::http::random_delivery();
  REQUIRE(send_push(a.port(), delivery, push_body(sha(1))) == 202);
  const bool both =
      test::eventually([&] { return a.queued().size() == 1 && b.queued().size() == 1; }, 30s);
  INFO("host-a log:\n" << a.log() << "\nhost-b log:\n" << b.log());
  REQUIRE(both);
  // One entry under one name, the same bytes on both hosts; host A's own copy is a link from
  // its inbox, host B's came through the ledger.
  const auto name = a.queued()[0];
  CHECK(b.queued() == Names{name});
  CHECK(bytes_of(b.layout().queue("site"), name) == bytes_of(a.layout().queue("site"), name));
  CHECK(items(fleet, "host-b") == 1);
  CHECK(test::eventually([&] { return delivered(fleet, "host-b") == 1; }, 10s));
  CHECK(items(fleet, "host-a") == 0);  // the routing host links its own copy
  // Several polls later (rescan_s is 2), still one each.
  std::this_thread::sleep_for(5s);
  CHECK(a.queued() == Names{name});
  CHECK(b.queued() == Names{name});
  CHECK(b.count_log("fanned-out entry queued deployment=site entry=" + name) == 1);
  // One queue item per host, each host's own record of the entry (common::ledger_name).
  CHECK(fleet.count("SELECT count(*) FROM queue_items WHERE deployment IN ('site@host-a',"
                    " 'site@host-b') AND state = 'queued'") == 2);
  CHECK(fleet.count("SELECT count(*) FROM queue_items") == 2);
  CHECK(a.stop_router() == 0);
  CHECK(b.stop_router() == 0);
}

TEST_CASE("hosts: a redelivery sent to host B's receiver is dropped as a duplicate") {
  Fleet fleet({"host-a", "host-b"});
  Host a(fleet, "host-a");
  Host b(fleet, "host-b");
  a.start_receiver();
  b.start_receiver();
  a.start_router();
  b.start_router();

  const auto delivery = test::http::random_delivery();
  const auto body = push_body(sha(2));
  REQUIRE(send_push(a.port(), delivery, body) == 202);
  REQUIRE(test::eventually([&] { return a.queued().size() == 1 && b.queued().size() == 1; }, 30s));
  // GitHub's "Redeliver", which the load balancer sends to the other host this time.
  REQUIRE(send_push(b.port(), delivery, body) == 202);
  const auto duplicate = [&] {
    return fleet.count("SELECT count(*) FROM deliveries WHERE delivery_id = '" + delivery +
                       "' AND decision = 'duplicate'") == 1;
  };
  INFO("host-a log:\n" << a.log() << "\nhost-b log:\n" << b.log());
  REQUIRE(test::eventually(duplicate, 30s));
  CHECK(fleet.count("SELECT count(*) FROM deliveries WHERE delivery_id = '" + delivery +
                    "' AND decision = 'routed'") == 1);
  CHECK(test::eventually([&] { return entries(b.layout().inbox()).empty(); }, 10s));
  std::this_thread::sleep_for(3s);  // a poll later: nothing more arrived anywhere
  CHECK(a.queued().size() == 1);
  CHECK(b.queued().size() == 1);
  CHECK(items(fleet, "host-a") == 0);
  CHECK(items(fleet, "host-b") == 1);
  CHECK(b.count_log("duplicate delivery dropped delivery=" + delivery) == 1);
}

TEST_CASE("hosts: one delivery sent to both hosts' receivers at once is routed once") {
  Fleet fleet({"host-a", "host-b"});
  Host a(fleet, "host-a");
  Host b(fleet, "host-b");
  a.start_receiver();
  b.start_receiver();
  a.start_router();
  b.start_router();
  INFO("host-a log:\n" << a.log() << "\nhost-b log:\n" << b.log());
  // Both routers check the ledger for an earlier entry of the delivery at about the same time and
  // find none; the delivery's lock in the routing transaction lets only one of them route it.
  constexpr int deliveries = 20;
  for (int i = 0; i < deliveries; ++i) {
    const auto delivery = test::http::random_delivery();
    const auto body = push_body(sha(500 + i));
    int status_b = 0;
    std::thread to_b([&] { status_b = send_push(b.port(), delivery, body); });
    const int status_a = send_push(a.port(), delivery, body);
    to_b.join();
    REQUIRE(status_a == 202);
    REQUIRE(status_b == 202);
  }
  const auto settled = [&] {
    return fleet.count("SELECT count(*) FROM deliveries") == 2 * deliveries &&
           entries(a.layout().inbox()).empty() && entries(b.layout().inbox()).empty();
  };
  REQUIRE(test::eventually(settled, 60s));
  CHECK(fleet.count("SELECT count(*) FROM deliveries WHERE decision = 'routed'") == deliveries);
  CHECK(fleet.count("SELECT count(*) FROM deliveries WHERE decision = 'duplicate'") == deliveries);
  CHECK(fleet.count("SELECT count(*) FROM queue_items") == 2 * deliveries);
  REQUIRE(test::eventually(
      [&] { return delivered(fleet, "host-a") + delivered(fleet, "host-b") == deliveries; }, 30s));
  CHECK(a.queued().size() == static_cast<std::size_t>(deliveries));
  CHECK(b.queued() == a.queued());
  CHECK(a.stop_router() == 0);
  CHECK(b.stop_router() == 0);
}

TEST_CASE("hosts: kill -9 of host B's router between publish and mark-delivered leaves one entry") {
  Fleet fleet({"host-a", "host-b"});
  Host a(fleet, "host-a");
  Host b(fleet, "host-b");
  a.start_receiver();
  a.start_router();
  // 150 pushes recorded for host B while its router is down: its first transaction then takes
  // 64 items and publishes them one by one (each with its fsyncs) before it marks any of them
  // delivered, so a kill as soon as the first file appears lands inside that window.
  constexpr int pushes = 150;
  std::set<std::string> deliveries;
  for (int i = 0; i < pushes; ++i) {
    const auto delivery = test::http::random_delivery();
    deliveries.insert(delivery);
    REQUIRE(send_push(a.port(), delivery, push_body(sha(1000 + i))) == 202);
  }
  INFO("host-a log:\n" << a.log() << "\nhost-b log:\n" << b.log());
  REQUIRE(test::eventually([&] { return items(fleet, "host-b") == pushes; }, 60s));
  CHECK(delivered(fleet, "host-b") == 0);

  b.start_router();
  REQUIRE(test::eventually([&] { return !b.queued().empty(); }, 30s));
  b.kill9_router();
  const auto published = b.queued().size();
  const auto marked = delivered(fleet, "host-b");
  INFO("published " << published << ", marked delivered " << marked);
  // The window was hit: entries are in the folder that the ledger does not call delivered.
  REQUIRE(static_cast<long long>(published) > marked);

  b.start_router();
  REQUIRE(test::eventually([&] { return delivered(fleet, "host-b") == pushes; }, 60s));
  const auto names = b.queued();
  CHECK(names.size() == static_cast<std::size_t>(pushes));
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK(names == a.queued());  // the same entries, each once, on both hosts
  CHECK(b.stop_router() == 0);
  CHECK(a.stop_router() == 0);
}

TEST_CASE(
    "hosts: a router started later takes what was recorded meanwhile and then wakes on NOTIFY") {
  // A poll period far longer than the waits below: what arrives in time came by NOTIFY.
  Fleet fleet({"host-a", "host-b"}, 60);
  Host a(fleet, "host-a");
  Host b(fleet, "host-b");
  a.start_receiver();
  a.start_router();
  INFO("host-a log:\n" << a.log() << "\nhost-b log:\n" << b.log());
  REQUIRE(send_push(a.port(), test::http::random_delivery(), push_body(sha(3))) == 202);
  REQUIRE(
      test::eventually([&] { return a.queued().size() == 1 && items(fleet, "host-b") == 1; }, 30s));
  CHECK(b.queued().empty());

  // Host B's router was down while that was routed: it takes it at start.
  b.start_router();
  REQUIRE(test::eventually([&] { return b.queued() == a.queued(); }, 20s));
  REQUIRE(test::eventually([&] { return b.count_log("fan-out started") == 1; }, 10s));

  // Up and listening: a new push reaches it well before its next poll.
  std::this_thread::sleep_for(1s);  // past the first wait's connect
  REQUIRE(send_push(a.port(), test::http::random_delivery(), push_body(sha(4))) == 202);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(test::eventually([&] { return b.queued().size() == 2; }, 20s));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < 20s);  // the poll would take up to 60 s
  CHECK(b.queued() == a.queued());
  CHECK(b.stop_router() == 0);
  CHECK(a.stop_router() == 0);
}

TEST_CASE("hosts: the database stopped for 8 s: both hosts get every push once when it returns") {
  test::Cluster cluster;  // private: stopping it disturbs no other test
  Fleet fleet({"host-a", "host-b"}, 2, cluster.url());
  Host a(fleet, "host-a");
  Host b(fleet, "host-b");
  a.start_receiver();
  a.start_router();
  b.start_router();
  INFO("host-a log:\n" << a.log() << "\nhost-b log:\n" << b.log());
  REQUIRE(send_push(a.port(), test::http::random_delivery(), push_body(sha(600))) == 202);
  REQUIRE(test::eventually([&] { return a.queued().size() == 1 && b.queued().size() == 1; }, 30s));

  cluster.stop();
  // The receiver never needs the database: pushes keep being accepted and wait in the inbox.
  for (unsigned i = 1; i <= 3; ++i) {
    REQUIRE(send_push(a.port(), test::http::random_delivery(), push_body(sha(600 + i))) == 202);
  }
  std::this_thread::sleep_for(8s);
  CHECK(entries(a.layout().inbox()).size() == 3);
  CHECK(a.queued().size() == 1);
  CHECK(b.queued().size() == 1);
  cluster.start();

  // Both routers reconnect by themselves; host B's listener too, or its poll finds the items.
  REQUIRE(test::eventually([&] { return a.queued().size() == 4 && b.queued().size() == 4; }, 60s));
  std::this_thread::sleep_for(3s);
  CHECK(a.queued().size() == 4);
  CHECK(b.queued() == a.queued());
  CHECK(fleet.count("SELECT count(*) FROM fanout_items WHERE delivered_at IS NULL") == 0);
  CHECK(b.count_log("fan-out paused") == 1);  // one line per state change, not per retry
  CHECK(b.count_log("fan-out resumed") == 1);
  CHECK(a.stop_router() == 0);
  CHECK(b.stop_router() == 0);
}

TEST_CASE("hosts: delivered items older than the retention are pruned and nothing else") {
  Fleet fleet({"host-a", "host-b"}, 2);
  // Rows as a router long gone left them: delivered 40 days ago (beyond the default 30 days),
  // delivered an hour ago, undelivered and old, and one of another host.
  const auto insert = [&](const std::string& host, const std::string& name,
                          const std::string& delivered) {
    fleet.count(
        "WITH i AS (INSERT INTO fanout_items (host, deployment, entry_name, origin_host, content,"
        " created_at, delivered_at) VALUES ('" +
        host + "', 'site', '" + name +
        "', 'host-a', '\\x7b7d'::bytea, now() - interval '41 days', " + delivered +
        ") RETURNING 1) SELECT count(*) FROM i");
  };
  insert("host-b", "00000000000000000001-old.json", "now() - interval '40 days'");
  insert("host-b", "00000000000000000002-recent.json", "now() - interval '1 hour'");
  insert("host-c", "00000000000000000003-other.json", "now() - interval '40 days'");
  insert("host-b", "00000000000000000004-waiting.json", "NULL");
  Host b(fleet, "host-b");
  b.start_router();
  INFO("host-b log:\n" << b.log());
  REQUIRE(
      test::eventually([&] { return b.count_log("delivered fan-out items pruned") == 1; }, 20s));
  CHECK(b.count_log("delivered fan-out items pruned count=1 days=30") == 1);
  CHECK(fleet.count("SELECT count(*) FROM fanout_items WHERE entry_name LIKE '%-old.json'") == 0);
  CHECK(fleet.count("SELECT count(*) FROM fanout_items") == 3);
  // The undelivered one is delivered, not pruned; nothing is published for the others.
  REQUIRE(test::eventually([&] { return b.queued() == Names{"00000000000000000004-waiting.json"}; },
                           20s));
  CHECK(b.stop_router() == 0);
}

TEST_CASE("hosts: without a notification the poll still delivers") {
  Fleet fleet({"host-a", "host-b"}, 2);
  Host b(fleet, "host-b");
  b.start_router();
  INFO("host-b log:\n" << b.log());
  REQUIRE(test::eventually([&] { return b.count_log("fan-out started") == 1; }, 20s));
  std::this_thread::sleep_for(1s);
  // An item written straight into the ledger, with no NOTIFY: only the poll can find it.
  const std::string name = "00000000000000000001-poll-only.json";
  const std::string content = "{\"event\":\"push\",\"id\":\"poll-only\",\"payload\":{}}";
  fleet.count(
      "WITH i AS (INSERT INTO fanout_items (host, deployment, entry_name, origin_host, content)"
      " VALUES ('host-b', 'site', '" +
      name + "', 'host-a', convert_to('" + content +
      "', 'UTF8')) RETURNING 1) SELECT count(*) FROM i");
  REQUIRE(test::eventually([&] { return b.queued() == Names{name}; }, 15s));
  CHECK(test::read_file(b.layout().queue("site") / name) == content);
  CHECK(b.stop_router() == 0);
}

TEST_CASE("hosts: a configuration without hosts routes exactly as before with no fan-out") {
  test::TempDir root("hosts-single");
  test::Database database;
  ledger::migrate(database.url());
  const nlohmann::json config = {
      {"instance", "single"},
      {"state_dir", (root.path() / "var").string()},
      {"allow_root", true},
      {"listen", {{"host", "127.0.0.1"}, {"port", test::free_port()}}},
      {"router", {{"settle_ms", 200}, {"rescan_s", 2}}},
      {"deployments",
       {{"site",
         {{"repository", "example/app"},
          {"branch", "main"},
          {"path", (root.path() / "site").string()},
          {"steps", nlohmann::json::array()}}}}},
  };
  test::write_file(root.path() / "deployer.json", config.dump());
  const int port = config["listen"]["port"];
  std::map<std::string, std::string> env = {
      {"DATABASE_URL", database.url()}, {"WEBHOOK_SECRET", kSecret}, {"GITHUB_TOKEN", ""}};
  test::Child receiver(
      {test::bin("receiver").string(), "--config", (root.path() / "deployer.json").string()}, env,
      root.path() / "receiver.log");
  test::Child router(
      {test::bin("router").string(), "--config", (root.path() / "deployer.json").string()}, env,
      root.path() / "router.log");
  REQUIRE(test::http::wait_for_port(static_cast<unsigned short>(port), 20s));
  REQUIRE(send_push(static_cast<unsigned short>(port), test::http::random_delivery(),
                    push_body(sha(5))) == 202);
  const queue_layout::Layout layout(root.path() / "var");
  REQUIRE(test::eventually([&] { return entries(layout.queue("site")).size() == 1; }, 30s));
  pqxx::connection conn(database.url());
  pqxx::nontransaction tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM fanout_items")[0].as<int>() == 0);
  const auto log = test::read_file(root.path() / "router.log");
  CHECK(log.find("fan-out") == std::string::npos);  // no puller, no extra connection
  router.signal(SIGTERM);
  CHECK(router.wait(20s) == 0);
}

TEST_CASE("hosts: deployctl check-config shows the resolved host and its deployments") {
  Fleet fleet({"host-a", "host-b"});
  const auto result = test::run({test::bin("deployctl").string(), "check-config", "--config",
                                 fleet.config().string(), "--host", "host-b"},
                                {{"DEPLOY_HOST", "host-a"}, {"DATABASE_URL", fleet.url()}});
  INFO(result.output);
  REQUIRE(result.status == 0);
  CHECK(result.output.find("\"host\": \"host-b\"") != std::string::npos);
  CHECK(result.output.find("\"state_dir\": \"" + (fleet.root() / "var" / "host-b").string()) !=
        std::string::npos);
  CHECK(result.output.find("deployctl: host host-b (from --host); deployments here: site; only "
                           "on other hosts: none") != std::string::npos);
  // Without --host, DEPLOY_HOST decides; a host outside "hosts" runs none of them.
  const auto other = test::run(
      {test::bin("deployctl").string(), "check-config", "--config", fleet.config().string()},
      {{"DEPLOY_HOST", "host-c"}, {"DATABASE_URL", fleet.url()}});
  CHECK(other.status == 0);
  CHECK(other.output.find("deployctl: host host-c (from DEPLOY_HOST); deployments here: none; "
                          "only on other hosts: site") != std::string::npos);
  // A host name that would escape its folder is refused, naming where it came from.
  const auto bad = test::run({test::bin("deployctl").string(), "check-config", "--config",
                              fleet.config().string(), "--host", "../x"},
                             {{"DATABASE_URL", fleet.url()}});
  CHECK(bad.status == 1);
  CHECK(bad.output.find("host: --host \"../x\" is not a valid host name") != std::string::npos);
}

TEST_CASE("hosts: a deployer refuses a deployment whose hosts leave its host out") {
  Fleet fleet({"host-a", "host-b"});
  const auto result =
      test::run({test::bin("deployer").string(), "--config", fleet.config().string(),
                 "--deployment", "site", "--host", "host-c"},
                {{"DATABASE_URL", fleet.url()}});
  INFO(result.output);
  CHECK(result.status == 1);
  CHECK(result.output.find("the deployment site does not run on this host (host-c, from "
                           "--host): its hosts are host-a, host-b") != std::string::npos);
}

TEST_CASE("hosts: the PM2 ecosystem starts deployers only for this host's deployments") {
  test::TempDir root("hosts-pm2");
  nlohmann::json deployments = nlohmann::json::object();
  const auto deployment = [&](const nlohmann::json& hosts) {
    nlohmann::json d = {{"repository", "example/app"},
                        {"branch", "main"},
                        {"path", (root.path() / "srv").string()},
                        {"steps", nlohmann::json::array()}};
    if (!hosts.is_null()) d["hosts"] = hosts;
    return d;
  };
  deployments["shop"] = deployment({"web1", {{"name", "web2"}, {"env", {{"PORT", "3002"}}}}});
  deployments["blog"] = deployment({"web3"});
  deployments["legacy"] = deployment(nullptr);  // no "hosts": wherever the file is loaded
  const nlohmann::json config = {{"instance", "pm2"},
                                 {"host", "web3"},
                                 {"state_dir", (root.path() / "var").string()},
                                 {"deployments", deployments}};
  const auto file = root.path() / "fleet.json";
  test::write_file(file, config.dump());
  const auto apps = [&](std::map<std::string, std::string> env) {
    env["DEPLOYER_CONFIG"] = file.string();
    const auto result = test::run({"/usr/bin/env", "node", "-e",
                                   "const e = require(process.argv[1]);"
                                   "console.log(e.apps.map((a) => a.name).join(','));",
                                   test::source("pm2/ecosystem.config.js").string()},
                                  env);
    INFO(result.output);
    REQUIRE(result.status == 0);
    auto out = result.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  CHECK(apps({{"DEPLOY_HOST", "web2"}}) == "receiver,router,deployer-legacy,deployer-shop");
  CHECK(apps({{"DEPLOY_HOST", "web1"}}) == "receiver,router,deployer-legacy,deployer-shop");
  // Without DEPLOY_HOST the file's "host" decides.
  CHECK(apps({{"DEPLOY_HOST", ""}}) == "receiver,router,deployer-blog,deployer-legacy");
}
