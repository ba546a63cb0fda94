// The whole pipeline under the REAL PM2: receiver, router and one deployer per deployment started
// from pm2/ecosystem.config.js with the built binaries, a real PostgreSQL ledger and a real local
// git origin. Signed pushes for two deployments (one repository, branches main and staging) go
// through the receiver; the router and a deployer are killed with kill -9 mid-stream; PM2 restarts
// them and every push is deployed exactly once, in order; `deployctl status --json` agrees with
// the ledger and the working trees; `pm2 kill` leaves no process behind.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "common/ledger/ledger.hpp"
#include "common/ledger/migrations.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/scan.hpp"
#include "tests/e2e/pm2.hpp"
#include "tests/support/child.hpp"
#include "tests/support/git.hpp"
#include "tests/support/http.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

constexpr const char* kSecret = "e2e-webhook-secret";
const std::vector<std::string> kDeployments = {"alpha", "beta"};

struct Push {
  std::string delivery;
  std::string sha;
};

// One repository, two deployments of it: alpha follows main, beta follows staging. No
// coalescing, so every push is deployed (the test counts them). The "work" step gives a window
// in which a deployer can be killed before the "record" step, which appends
// "<delivery> <sha>" to the deployment's record file.
nlohmann::json pipeline_config(const test::TempDir& root, unsigned short port,
                               const std::filesystem::path& origin) {
  nlohmann::json deployments = nlohmann::json::object();
  for (const auto& [name, branch] : {std::pair{"alpha", "main"}, std::pair{"beta", "staging"}}) {
    deployments[name] = {
        {"repository", "example/app"},
        {"branch", branch},
        {"path", (root / name).string()},
        {"remote", origin.string()},
        {"coalesce", false},
        {"env", {{"RECORD", (root / (std::string(name) + ".record")).string()}}},
        {"steps",
         {{{"name", "work"}, {"run", {"sleep", "2"}}, {"timeout_s", 60}},
          {{"name", "record"},
           {"shell", true},
           {"run", {"echo \"$DEPLOY_DELIVERY $DEPLOY_SHA\" >> \"$RECORD\""}}}}},
    };
  }
  return {
      {"instance", "e2e"},
      {"state_dir", "var"},
      {"allow_root", true},
      {"listen", {{"host", "127.0.0.1"}, {"port", port}}},
      {"router", {{"settle_ms", 200}, {"rescan_s", 2}}},
      {"deployments", deployments},
  };
}

std::string payload(const std::string& branch, const std::string& before, const std::string& sha) {
  const nlohmann::json json = {
      {"ref", "refs/heads/" + branch},
      {"before", before},
      {"after", sha},
      {"created", false},
      {"deleted", false},
      {"forced", false},
      {"repository",
       {{"name", "app"}, {"full_name", "example/app"}, {"owner", {{"login", "example"}}}}},
      {"pusher", {{"name", "e2e"}, {"email", "e2e@example.com"}}},
      {"head_commit", {{"id", sha}, {"message", "e2e push"}}},
      {"commits", nlohmann::json::array({{{"id", sha}, {"message", "e2e push"}}})},
  };
  return json.dump();
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {};
  std::vector<std::string> lines;
  std::istringstream in(test::read_file(file));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t count_entries(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  queue_layout::list_entries(dir, listing);
  return listing.entries.size();
}

}  // namespace

TEST_CASE("the pipeline under PM2 deploys every push exactly once through kill -9 of its parts") {
  test::Database db;
  ledger::migrate(db.url());
  test::TempDir root("e2e");
  test::GitOrigin origin(root / "repo");
  std::map<std::string, std::string> branch_of{{"alpha", "main"}, {"beta", "staging"}};
  std::map<std::string, std::string> tip;
  tip["alpha"] = origin.commit({{"app.txt", "0\n"}}, "initial");
  tip["beta"] = origin.commit({{"staging.txt", "0\n"}}, "staging", "staging");
  origin.clone_to(root / "alpha", "main");
  origin.clone_to(root / "beta", "staging");

  const unsigned short port = test::free_port();
  const auto config = root / "deployer.json";
  test::write_file(config, pipeline_config(root, port, origin.url()).dump(2));
  const queue_layout::Layout layout(root / "var");

  e2e::Pm2 pm2(root / "pm2", {{"DEPLOYER_CONFIG", config.string()},
                              {"DEPLOY_BIN_DIR", test::bin("").string()},
                              {"DATABASE_URL", db.url()},
                              {"WEBHOOK_SECRET", kSecret}});
  std::vector<pid_t> seen_pids;
  auto remember_pids = [&] {
    for (const auto& app : pm2.apps()) {
      if (app.pid > 0) seen_pids.push_back(app.pid);
    }
  };
  auto logs = [&] {
    std::string out;
    for (const auto& name : {"receiver", "router", "deployer-alpha", "deployer-beta"}) {
      for (const char* kind : {"-out.log", "-error.log"}) {
        std::error_code ec;
        const auto file = root / "pm2" / "logs" / (std::string(name) + kind);
        if (std::filesystem::exists(file, ec))
          out += "--- " + file.string() + "\n" + test::read_file(file);
      }
    }
    return out;
  };

  // A wait that, when it times out, fails with every program's PM2 log.
  auto require_eventually = [&](const auto& predicate, std::chrono::milliseconds timeout,
                                const std::string& what) {
    if (!test::eventually(predicate, timeout))
      FAIL("timed out waiting for " << what << "\n" << logs());
  };

  const auto started = pm2.run({"start", test::source("pm2/ecosystem.config.js").string()});
  INFO(started.out + started.err);
  REQUIRE(started.status == 0);
  auto all_online = [&] {
    const auto apps = pm2.apps();
    if (apps.size() != 4) return false;
    for (const auto& app : apps) {
      if (app.status != "online" || app.pid <= 0) return false;
    }
    return true;
  };
  require_eventually(all_online, 30s, "every app online");
  {
    std::vector<std::string> names;
    for (const auto& app : pm2.apps()) names.push_back(app.name);
    std::sort(names.begin(), names.end());
    CHECK(names ==
          std::vector<std::string>{"deployer-alpha", "deployer-beta", "receiver", "router"});
  }
  REQUIRE(test::http::wait_for_port(port, 30s));
  remember_pids();

  std::map<std::string, std::vector<Push>> sent;
  int counter = 0;
  auto push = [&](const std::string& deployment) {
    const std::string branch = branch_of[deployment];
    const std::string before = tip[deployment];
    const std::string sha = origin.commit({{deployment + ".txt", std::to_string(++counter) + "\n"}},
                                          "change " + std::to_string(counter), branch);
    tip[deployment] = sha;
    test::http::Webhook hook;
    hook.secret = kSecret;
    hook.body = payload(branch, before, sha);
    hook.delivery = test::http::random_delivery();
    hook.hook_id = "4242";
    const auto response = test::http::roundtrip(port, test::http::webhook_request(hook));
    INFO(response.body);
    REQUIRE(response.status == 202);
    sent[deployment].push_back({hook.delivery, sha});
  };
  auto expected_lines = [&](const std::string& deployment) {
    std::vector<std::string> lines;
    for (const auto& p : sent[deployment]) lines.push_back(p.delivery + " " + p.sha);
    return lines;
  };
  auto all_deployed = [&] {
    for (const auto& d : kDeployments) {
      if (lines_of(root / (d + ".record")).size() < sent[d].size()) return false;
      if (count_entries(layout.queue(d)) != 0 || count_entries(layout.active(d)) != 0) return false;
    }
    return count_entries(layout.inbox()) == 0;
  };

  // 1. One push per deployment, deployed.
  push("alpha");
  push("beta");
  require_eventually(all_deployed, 60s, "the first two pushes deployed");
  for (const auto& d : kDeployments) {
    CHECK(lines_of(root / (d + ".record")) == expected_lines(d));
    CHECK(test::checked_out(root / d) == tip[d]);
  }

  // 2. A stream of pushes; the router is killed in the middle of it...
  push("alpha");
  push("beta");
  push("alpha");
  const auto router = pm2.app("router");
  REQUIRE(router);
  REQUIRE(::kill(router->pid, SIGKILL) == 0);
  push("beta");  // the receiver keeps accepting while the router is down
  push("alpha");
  require_eventually(
      [&] {
        const auto now = pm2.app("router");
        return now && now->status == "online" && now->pid > 0 && now->pid != router->pid &&
               now->restarts >= 1;
      },
      30s, "PM2 to restart the router");
  remember_pids();
  // One more push now that the router is back: on a loaded machine the pushes above may all be
  // deployed while PM2 is still being asked about the router, and the kill below needs a run
  // that has yet to start.
  push("alpha");

  // ... and deployer-alpha is killed while it deploys: once its run log says the "work" step
  // (sleep 2) has started, so the kill lands inside that step, before the "record" step. The PID
  // is looked up first and the kill sent from inside the wait: asking PM2 takes long enough on a
  // loaded machine for the step to end in between, and the kill would then find nothing running.
  const auto deployer = pm2.app("deployer-alpha");
  REQUIRE(deployer);
  require_eventually(
      [&] {
        queue_layout::Listing active;
        queue_layout::list_entries(layout.active("alpha"), active);
        if (active.entries.size() != 1) return false;
        std::ifstream log(layout.logs("alpha") / (active.entries[0] + ".log"));
        const std::string text((std::istreambuf_iterator<char>(log)), {});
        if (text.find("step 1/2 work: ") == std::string::npos ||
            text.find("step 1/2 work exited") != std::string::npos)
          return false;
        return ::kill(deployer->pid, SIGKILL) == 0;
      },
      60s, "deployer-alpha to start the work step");
  push("beta");
  require_eventually(
      [&] {
        const auto now = pm2.app("deployer-alpha");
        return now && now->status == "online" && now->pid > 0 && now->pid != deployer->pid &&
               now->restarts >= 1;
      },
      30s, "PM2 to restart deployer-alpha");
  remember_pids();
  push("alpha");

  // 3. Everything deployed, each push exactly once, in the order it was sent.
  // Nothing is left in inbox/, queues/ or active/ then: no run can start after this point, so the
  // counts below are final whatever the timing.
  require_eventually(all_deployed, 120s, "every push deployed");
  for (const auto& d : kDeployments) {
    INFO(d);
    CHECK(lines_of(root / (d + ".record")) == expected_lines(d));
    CHECK(test::checked_out(root / d) == tip[d]);
    CHECK(count_entries(layout.done(d)) == sent[d].size());
    CHECK(count_entries(layout.failed(d)) == 0);
  }
  CHECK(count_entries(layout.rejected()) == 0);

  // The ledger: every entry succeeded; the killed deploy left an interrupted run behind.
  ledger::Ledger ledger(db.url());
  for (const auto& d : kDeployments) {
    const auto history = ledger.history(d, 50);
    REQUIRE(history.last_success);
    CHECK(history.last_success->sha == tip[d]);
    CHECK_FALSE(history.last_failure);
    std::size_t succeeded = 0;
    std::size_t interrupted = 0;
    for (const auto& run : history.recent) {
      succeeded += run.outcome == ledger::RunOutcome::succeeded;
      interrupted += run.outcome == ledger::RunOutcome::interrupted;
    }
    CHECK(succeeded == sent[d].size());
    // The kill -9 landed in the middle of a deploy of alpha, which was then run again.
    CHECK(interrupted == (d == "alpha" ? 1u : 0u));
    for (const auto& p : sent[d]) {
      const auto story = ledger.delivery_story(p.delivery);
      REQUIRE(story.items.size() == 1);
      CHECK(story.items[0].deployment == d);
      CHECK(story.items[0].state == ledger::QueueState::succeeded);
    }
  }

  // deployctl status --json agrees.
  const auto status =
      test::run({test::bin("deployctl").string(), "--config", config.string(), "status", "--json"},
                {{"DATABASE_URL", db.url()}});
  INFO(status.output);
  REQUIRE(status.status == 0);
  const auto json = nlohmann::json::parse(status.output);
  CHECK(json["database"]["reachable"] == true);
  CHECK(json["inbox"]["waiting"] == 0);
  for (const auto& d : kDeployments) {
    const auto& s = json["deployments"][d];
    CHECK(s["queue"]["length"] == 0);
    CHECK(s["active"].is_null());
    CHECK(s["last_success"]["sha"] == tip[d]);
    CHECK(s["last_failure"].is_null());
    CHECK(s["failed"]["count"] == 0);
    CHECK(s["done"]["count"] == sent[d].size());
  }

  // 4. Stop everything: no app, no daemon, no step left running.
  remember_pids();
  const pid_t daemon = pm2.daemon_pid();
  REQUIRE(daemon > 0);
  seen_pids.push_back(daemon);
  pm2.kill();
  CHECK(test::eventually(
      [&] {
        for (pid_t pid : seen_pids) {
          if (!e2e::process_gone(pid)) return false;
        }
        return true;
      },
      20s));
  for (pid_t pid : seen_pids) {
    INFO("pid " << pid);
    CHECK(e2e::process_gone(pid));
  }
  CHECK(test::eventually([&] { return e2e::processes_in(root.path()).empty(); }, 10s));
}
