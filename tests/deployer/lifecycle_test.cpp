// The deployer process's life: kill -9 mid-step and a restart that runs the entry left in active/
// first; SIGTERM mid-step exits within 5 s leaving the entry in active/; one deployer per
// deployment (the second refuses to start); a ledger outage makes the deployer wait with the
// entry kept, and carry on when the database is back.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "tests/deployer/harness.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::process_gone;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;
using namespace std::chrono_literals;

namespace {

// A step that notes its start, then waits for $OUT/release.
json gated_step() {
  return sh_step("gated",
                 "echo \"$DEPLOY_ENTRY\" >> \"$OUT/starts\"; echo $$ >> \"$OUT/pids\"; "
                 "while [ ! -f \"$OUT/release\" ]; do sleep 0.05; done; "
                 "echo \"$DEPLOY_ENTRY\" >> \"$OUT/finished\"");
}

}  // namespace

TEST_CASE("after kill -9 mid-step the restart runs the entry left in active/ first", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({gated_step()});
  auto first = h.webhook_push(a);
  {
    auto deployer = h.start();
    REQUIRE(test::eventually([&] { return h.out_lines("starts").size() == 1; }, 20s));
    deployer.signal(SIGKILL);  // the deployer only: its step is orphaned, as in a real crash
    REQUIRE(deployer.wait(5s));
  }
  REQUIRE(h.in("active", first));
  auto later = h.operator_replay(a);  // arrives while no deployer runs

  auto deployer = h.start();
  REQUIRE(test::eventually([&] { return h.out_lines("starts").size() == 2; }, 20s));
  CHECK(h.out_lines("starts") == Lines{first, first});  // the active entry before the queue
  test::write_file(h.out() / "release", "");
  REQUIRE(h.wait_in("done", first));
  REQUIRE(h.wait_in("done", later));
  CHECK(h.out_lines("starts") == Lines{first, first, later});
  CHECK(h.state_of(first) == "succeeded");
  CHECK(h.state_of(later) == "succeeded");
  // The killed run was closed as interrupted when the entry started again.
  auto history = h.ledger().history("app", 10);
  int interrupted = 0;
  for (const auto& run : history.recent) {
    if (run.entry_name == first && run.outcome == ledger::RunOutcome::interrupted) ++interrupted;
  }
  CHECK(interrupted == 1);
  // Its run log says so between the two starts; the replay's log (a first run) does not.
  const auto log = test::read_file(h.dir("logs") / (first + ".log"));
  const auto note = log.find("=== the run above was interrupted");
  CHECK(note != std::string::npos);
  CHECK(log.find("=== run started") < note);
  CHECK(log.find("=== run started", note) != std::string::npos);
  CHECK(test::read_file(h.dir("logs") / (later + ".log")).find("interrupted") == std::string::npos);
  for (const auto& pid : h.out_lines("pids")) {
    CHECK(test::eventually([&] { return process_gone(std::stoi(pid)); }, 3s));
  }
}

TEST_CASE("SIGTERM mid-step exits within 5 s and leaves the entry in active/", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  // The step ignores SIGTERM, so the deployer has to escalate to SIGKILL within its deadline.
  h.steps = json::array({sh_step("stubborn",
                                 "trap '' TERM; echo $$ > \"$OUT/step.pid\"; "
                                 "while [ ! -f \"$OUT/release\" ]; do sleep 0.05; done; "
                                 "echo \"$DEPLOY_ENTRY\" >> \"$OUT/finished\"")});
  auto entry = h.webhook_push(a);
  {
    auto deployer = h.start();
    REQUIRE(test::eventually([&] { return std::filesystem::exists(h.out() / "step.pid"); }, 20s));
    auto sent = std::chrono::steady_clock::now();
    deployer.signal(SIGTERM);
    auto status = deployer.wait(5s);
    auto took = std::chrono::steady_clock::now() - sent;
    REQUIRE(status);
    CHECK(*status == 0);
    CHECK(took < 5s);
  }
  CHECK(h.in("active", entry));
  CHECK_FALSE(h.in("done", entry));
  CHECK_FALSE(h.in("failed", entry));
  int step = std::stoi(test::read_file(h.out() / "step.pid"));
  CHECK(test::eventually([&] { return process_gone(step); }, 2s));
  CHECK(h.deployer_log().find("deployer stopped") != std::string::npos);

  // Started again, it deploys the entry to the end.
  test::write_file(h.out() / "release", "");
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  CHECK(h.out_lines("finished") == Lines{entry});
  CHECK(h.state_of(entry) == "succeeded");
}

TEST_CASE("a second deployer for the same deployment refuses to start", "[deployer]") {
  Harness h;
  h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  auto first = h.start();
  REQUIRE(h.wait_log("deployer started"));
  auto second = h.start();
  auto status = second.wait(20s);
  REQUIRE(status);
  CHECK(*status == 1);
  CHECK(h.deployer_log().find("another deployer for deployment 'app' is already running") !=
        std::string::npos);
  CHECK(first.running());
}

TEST_CASE("while the ledger is down the deployer waits, keeps the entry, then carries on",
          "[deployer]") {
  test::Cluster cluster;  // a private server, so stopping it disturbs no other test
  Harness h(cluster.url());
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({sh_step("record", "echo \"$DEPLOY_SHA\" >> \"$OUT/runs\"")});
  auto deployer = h.start();
  REQUIRE(h.wait_log("deployer started"));

  cluster.stop();
  auto entry = h.operator_replay(a);
  REQUIRE(h.wait_log("ledger unavailable: waiting"));
  // Several attempts with back-off. The checks below hold for as long as the ledger is down,
  // whatever the timing: the pause only gives a bug the time to show.
  std::this_thread::sleep_for(1500ms);
  CHECK((h.in("active", entry) || h.in("queue", entry)));
  CHECK(h.out_lines("runs").empty());

  cluster.start();
  REQUIRE(h.wait_in("done", entry));
  CHECK(h.out_lines("runs") == Lines{a});
  CHECK(h.state_of(entry) == "succeeded");
  auto log = h.deployer_log();
  auto count = [&log](const std::string& text) {
    std::size_t n = 0;
    for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1)) ++n;
    return n;
  };
  CHECK(count("ledger unavailable: waiting") == 1);  // one line per state change, not per attempt
  CHECK(count("ledger answers again") == 1);
}
