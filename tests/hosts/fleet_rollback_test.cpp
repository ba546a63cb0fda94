// deployctl rollback of a deployment on several hosts (docs/hosts.md): run on one host, the
// same rollback entry (one name, the same bytes) reaches every host's queue exactly once, the
// others' through the ledger's fan-out and their real routers, and names a commit each host
// resolves to its own release. Two simulated hosts on one machine (their own --host, state
// folder and release root) share one real PostgreSQL.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>
#include <thread>

#include "common/entry.hpp"
#include "common/ledger/migrations.hpp"
#include "common/process.hpp"
#include "common/release_layout.hpp"
#include "common/rollback_entry.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/scan.hpp"
#include "tests/support/child.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using Names = std::vector<std::string>;

namespace {

namespace fs = std::filesystem;

const std::string kOld(40, 'a');
const std::string kLive(40, 'b');

// Host web<n> built each commit at its own moment: the same commits, other release names.
std::string release_of(const std::string& host, char digit) {
  return "20261206T0" + std::string(1, digit == 'a' ? '1' : '2') + "000" + host.substr(3) +
         ".000Z-" + std::string(12, digit);
}

struct RollbackFleet {
  test::Database db;
  test::TempDir root{"fleet-rollback"};
  fs::path config = root.path() / "deployer.json";
  std::map<std::string, test::Child> routers;

  RollbackFleet() {
    ledger::migrate(db.url());
    const json file = {
        {"instance", "fleet-rollback"},
        {"state_dir", (root.path() / "var" / "${DEPLOY_HOST}").string()},
        {"allow_root", true},
        {"listen", {{"host", "127.0.0.1"}, {"port", 0}}},
        {"router", {{"settle_ms", 200}, {"rescan_s", 2}}},
        {"deployments",
         {{"site",
           {{"repository", "example/app"},
            {"branch", "main"},
            {"path", (root.path() / "srv" / "${DEPLOY_HOST}").string()},
            {"remote", (root.path() / "origin.git").string()},
            {"releases", {{"keep", 5}}},
            {"hosts", {"web1", "web2"}},
            {"steps", json::array()}}}}},
    };
    test::write_file(config, file.dump(2));
    for (const std::string host : {"web1", "web2"}) {
      const common::ReleaseLayout layout(release_root(host));
      for (const char digit : {'a', 'b'}) {
        fs::create_directories(layout.release(release_of(host, digit)));
        test::write_file(layout.release(release_of(host, digit)) / "REVISION",
                         std::string(40, digit) + "\n");
      }
      fs::create_symlink("releases/" + release_of(host, 'b'), release_root(host) / "current");
    }
  }

  fs::path release_root(const std::string& host) const { return root.path() / "srv" / host; }
  queue_layout::Layout layout(const std::string& host) const {
    return queue_layout::Layout(root.path() / "var" / host);
  }
  Names queued(const std::string& host) const {
    queue_layout::Listing listing;
    if (queue_layout::list_entries(layout(host).queue("site"), listing)) return {};
    return listing.entries;
  }
  void start_router(const std::string& host) {
    routers.emplace(
        host,
        test::Child({test::bin("router").string(), "--config", config.string(), "--host", host},
                    {{"DATABASE_URL", db.url()}}, root.path() / (host + "-router.log")));
  }
  std::string logs() const {
    std::string out;
    for (const std::string host : {"web1", "web2"}) {
      const auto file = root.path() / (host + "-router.log");
      std::error_code ec;
      if (fs::exists(file, ec)) out += host + ":\n" + test::read_file(file);
    }
    return out;
  }
  // One number from the ledger: the test's own view of the rows.
  long long count(const std::string& sql) const {
    pqxx::connection conn(db.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<long long>();
  }
};

struct Output {
  int status = -1;
  std::string out;
  std::string err;
};

Output deployctl(const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env) {
  common::Command command;
  command.argv = {test::bin("deployctl").string()};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  command.env = common::environment_with(env);
  command.timeout = 60s;
  const auto result = common::run_captured(command);
  REQUIRE(result.outcome.ending == common::Ending::exited);
  return {result.outcome.exit_code, result.out, result.err};
}

std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
}

}  // namespace

TEST_CASE("fleet: deployctl rollback on one host queues one entry on every host, exactly once") {
  RollbackFleet f;
  f.start_router("web1");
  const auto out = deployctl({"--config", f.config.string(), "rollback", "site", "--host", "web1"},
                             {{"DATABASE_URL", f.db.url()}});
  INFO(out.out + out.err + f.logs());
  REQUIRE(out.status == 0);
  const std::string name = last_line(out.out);
  CHECK_THAT(out.err, Catch::Contains("to release " + release_of("web1", 'a') +
                                      " (aaaaaaaaaaaa) "
                                      "queued on web1, web2"));
  // Durable in this host's queue when deployctl returns; in the ledger for web2, whose router is
  // not even running yet.
  CHECK(f.queued("web1") == Names{name});
  CHECK(f.queued("web2").empty());
  CHECK(f.count("SELECT count(*) FROM fanout_items WHERE host = 'web2' AND entry_name = '" + name +
                "' AND deployment = 'site' AND origin_host = 'web1'") == 1);
  CHECK(f.count("SELECT count(*) FROM fanout_items WHERE host = 'web1'") == 0);
  // No queue item: each host's deployer records the entry when it takes it.
  CHECK(f.count("SELECT count(*) FROM queue_items") == 0);

  f.start_router("web2");
  REQUIRE(test::eventually([&] { return f.queued("web2") == Names{name}; }, 30s));
  const auto here = test::read_file(f.layout("web1").queue("site") / name);
  CHECK(test::read_file(f.layout("web2").queue("site") / name) == here);
  CHECK(test::eventually(
      [&] {
        return f.count(
                   "SELECT count(*) FROM fanout_items WHERE host = 'web2' AND"
                   " delivered_at IS NOT NULL") == 1;
      },
      10s));

  // The entry names the commit, which each host resolves to its own release of it.
  const auto entry = common::parse_entry(here);
  REQUIRE(entry.ok());
  CHECK(entry->meta.event == "rollback");
  const auto request = common::parse_rollback(entry->payload);
  REQUIRE(request.ok());
  CHECK(request->to == kOld);
  for (const std::string host : {"web1", "web2"}) {
    const common::ReleaseLayout layout(f.release_root(host));
    const auto target = common::rollback_target(layout, request->to, release_of(host, 'b'));
    REQUIRE(target.ok());
    CHECK(*target == release_of(host, 'a'));
  }

  // Several polls of both routers later (rescan_s is 2), still exactly once on each host.
  std::this_thread::sleep_for(5s);
  CHECK(f.queued("web1") == Names{name});
  CHECK(f.queued("web2") == Names{name});
}

TEST_CASE("fleet: rollback --to a release of this host names its commit for every host") {
  RollbackFleet f;
  const auto out = deployctl({"--config", f.config.string(), "rollback", "site", "--to",
                              release_of("web2", 'a'), "--host", "web2"},
                             {{"DATABASE_URL", f.db.url()}});
  INFO(out.err);
  REQUIRE(out.status == 0);
  const std::string name = last_line(out.out);
  const auto entry = common::parse_entry(test::read_file(f.layout("web2").queue("site") / name));
  REQUIRE(entry.ok());
  CHECK(common::parse_rollback(entry->payload)->to == kOld);
  CHECK(f.count("SELECT count(*) FROM fanout_items WHERE host = 'web1' AND entry_name = '" + name +
                "'") == 1);
}

TEST_CASE("fleet: rollback on several hosts queues nothing anywhere when the ledger is down") {
  RollbackFleet f;
  const auto out = deployctl({"--config", f.config.string(), "rollback", "site", "--host", "web1"},
                             {{"DATABASE_URL", "host=/nonexistent dbname=x"}});
  CHECK(out.status == 1);
  CHECK_THAT(out.err, Catch::Contains("through the ledger (nothing was queued anywhere)"));
  CHECK(out.out.empty());
  CHECK(f.queued("web1").empty());
  CHECK(f.count("SELECT count(*) FROM fanout_items") == 0);
}

TEST_CASE("fleet: rollback from a host the deployment does not run on is refused") {
  RollbackFleet f;
  const auto out = deployctl({"--config", f.config.string(), "rollback", "site", "--host", "web3"},
                             {{"DATABASE_URL", f.db.url()}});
  CHECK(out.status == 1);
  CHECK_THAT(out.err, Catch::Contains("does not run on this host (web3)"));
  CHECK(f.count("SELECT count(*) FROM fanout_items") == 0);
}

TEST_CASE("fleet: deployctl enqueue of a deployment on several hosts queues one entry everywhere") {
  RollbackFleet f;
  f.start_router("web2");
  const auto out = deployctl({"--config", f.config.string(), "enqueue", "site", "--sha", kOld,
                              "--no-check", "--host", "web1"},
                             {{"DATABASE_URL", f.db.url()}});
  INFO(out.out + out.err + f.logs());
  REQUIRE(out.status == 0);
  const std::string name = last_line(out.out);
  CHECK(f.queued("web1") == Names{name});
  REQUIRE(test::eventually([&] { return f.queued("web2") == Names{name}; }, 30s));
  const auto here = test::read_file(f.layout("web1").queue("site") / name);
  CHECK(test::read_file(f.layout("web2").queue("site") / name) == here);
  const auto entry = common::parse_entry(here);
  REQUIRE(entry.ok());
  CHECK(entry->payload["after"] == kOld);

  const auto elsewhere = deployctl({"--config", f.config.string(), "enqueue", "site", "--sha", kOld,
                                    "--no-check", "--host", "web3"},
                                   {{"DATABASE_URL", f.db.url()}});
  CHECK(elsewhere.status == 1);
  CHECK_THAT(elsewhere.err, Catch::Contains("does not run on this host (web3)"));
}
