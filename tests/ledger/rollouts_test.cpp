// The rolling switch's decisions in the ledger (ledger::Rollouts, migration 0006), call by call
// as several hosts' deployers make them: nobody switches before every host has built, at most
// max_parallel at once in the order of `hosts`, a failure ends it for everyone, late hosts are
// skipped only under on_host_down "skip", a rejoining host starts over, supersession.
#include <thread>

#include "common/ledger/rollouts.hpp"
#include "tests/ledger/helpers.hpp"

using ledger::RolloutAction;
using ledger::RolloutHostState;
using ledger::RolloutState;

namespace {

using namespace std::chrono_literals;

const std::string kEntry = "00000000000000000001-a.json";

ledger::RolloutPlan plan(int max_parallel = 1) {
  return {"site", kEntry, std::string(40, 'a'), {"web1", "web2", "web3"}, max_parallel};
}

const ledger::HostDownRule kWait{600s, false};

// Every host joins and builds.
void build_all(ledger::Rollouts& rollouts, const ledger::RolloutPlan& p) {
  for (const auto& host : p.hosts) {
    rollouts.join(p, host);
    rollouts.built("site", kEntry, host, "release-" + host);
  }
}

RolloutAction step(ledger::Rollouts& rollouts, const std::string& host,
                   const ledger::HostDownRule& rule = kWait) {
  return rollouts.step("site", kEntry, host, rule).action;
}

}  // namespace

TEST_CASE("rollouts: nobody switches before every host has built") {
  ledger_test::MigratedDatabase db;
  ledger::Rollouts rollouts{db.url()};
  const auto p = plan(3);
  rollouts.join(p, "web1");
  rollouts.built("site", kEntry, "web1", "r1");
  rollouts.join(p, "web2");
  rollouts.built("site", kEntry, "web2", "r2");
  const auto waiting = rollouts.step("site", kEntry, "web1", kWait);
  CHECK(waiting.action == RolloutAction::wait);
  CHECK(waiting.waiting_for == std::vector<std::string>{"web3"});
  rollouts.join(p, "web3");  // building: still not
  CHECK(step(rollouts, "web1") == RolloutAction::wait);
  rollouts.built("site", kEntry, "web3", "r3");
  CHECK(step(rollouts, "web1") == RolloutAction::switch_now);
  const auto rollout = rollouts.rollout("site", kEntry);
  REQUIRE(rollout);
  CHECK(rollout->state == RolloutState::switching);
  CHECK(rollout->row("web1")->state == RolloutHostState::switching);
  CHECK(rollout->row("web1")->release == "r1");
}

TEST_CASE("rollouts: at most max_parallel switch at once, in the order of hosts") {
  ledger_test::MigratedDatabase db;
  ledger::Rollouts rollouts{db.url()};
  const auto p = plan(2);
  build_all(rollouts, p);
  // web3 asks first, but web1 and web2 come before it.
  CHECK(step(rollouts, "web3") == RolloutAction::wait);
  CHECK(step(rollouts, "web2") == RolloutAction::switch_now);
  CHECK(step(rollouts, "web3") == RolloutAction::wait);  // web1 still has the second slot
  CHECK(step(rollouts, "web1") == RolloutAction::switch_now);
  CHECK(step(rollouts, "web3") == RolloutAction::wait);  // both slots taken
  rollouts.live("site", kEntry, "web2");
  CHECK(step(rollouts, "web2") == RolloutAction::wait);  // live, waiting for the others
  CHECK(step(rollouts, "web3") == RolloutAction::switch_now);
  rollouts.live("site", kEntry, "web1");
  rollouts.live("site", kEntry, "web3");
  CHECK(step(rollouts, "web1") == RolloutAction::succeeded);
  const auto rollout = rollouts.rollout("site", kEntry);
  CHECK(rollout->state == RolloutState::succeeded);
  CHECK(rollout->finished_at);
  // Later calls of the others see the same outcome.
  CHECK(step(rollouts, "web2") == RolloutAction::succeeded);
}

TEST_CASE("rollouts: one host's failure fails the rollout for every host") {
  ledger_test::MigratedDatabase db;
  ledger::Rollouts rollouts{db.url()};
  const auto p = plan(1);
  build_all(rollouts, p);
  REQUIRE(step(rollouts, "web1") == RolloutAction::switch_now);
  rollouts.live("site", kEntry, "web1");
  REQUIRE(step(rollouts, "web2") == RolloutAction::switch_now);
  const auto failed = rollouts.fail("site", kEntry, "web2", "health check: 500");
  CHECK(failed.state == RolloutState::failed);
  CHECK(failed.failed_host == "web2");
  CHECK(failed.reason == "web2: health check: 500");
  CHECK(step(rollouts, "web1") == RolloutAction::failed);  // live: goes back
  CHECK(step(rollouts, "web3") == RolloutAction::failed);  // built: never switches
  rollouts.end_host("site", kEntry, "web1", RolloutHostState::rolled_back, "rolled back");
  const auto rollout = rollouts.rollout("site", kEntry);
  CHECK(rollout->row("web1")->state == RolloutHostState::rolled_back);
  CHECK(rollout->row("web2")->state == RolloutHostState::failed);
  CHECK(rollout->row("web3")->state == RolloutHostState::not_switched);
  CHECK(!rollout->row("web3")->switch_started_at);
  // A second failure does not rename the host at fault.
  rollouts.fail("site", kEntry, "web3", "late");
  CHECK(rollouts.rollout("site", kEntry)->failed_host == "web2");
}

TEST_CASE("rollouts: a late host is skipped only under on_host_down skip, never by itself") {
  ledger_test::MigratedDatabase db;
  ledger::Rollouts rollouts{db.url()};
  const auto p = plan(1);
  rollouts.join(p, "web1");
  rollouts.built("site", kEntry, "web1", "r1");
  rollouts.join(p, "web2");
  rollouts.built("site", kEntry, "web2", "r2");
  std::this_thread::sleep_for(1100ms);  // web3 never joined: late after 1 s
  const ledger::HostDownRule wait{1s, false};
  const ledger::HostDownRule skip{1s, true};
  CHECK(step(rollouts, "web1", wait) == RolloutAction::wait);
  const auto skipped = rollouts.step("site", kEntry, "web1", skip);
  CHECK(skipped.skipped == std::vector<std::string>{"web3"});
  CHECK(skipped.action == RolloutAction::switch_now);
  rollouts.live("site", kEntry, "web1");
  REQUIRE(step(rollouts, "web2", skip) == RolloutAction::switch_now);
  rollouts.live("site", kEntry, "web2");
  CHECK(step(rollouts, "web2", skip) == RolloutAction::succeeded);
  const auto rollout = rollouts.rollout("site", kEntry);
  CHECK(rollout->row("web3")->state == RolloutHostState::skipped);
  // The skipped host joining afterwards finds the rollout over: it deploys on its own.
  CHECK(rollouts.join(p, "web3").state == RolloutState::succeeded);
}

TEST_CASE("rollouts: a host joining again starts over, freeing the slot it held") {
  ledger_test::MigratedDatabase db;
  ledger::Rollouts rollouts{db.url()};
  const auto p = plan(1);
  build_all(rollouts, p);
  REQUIRE(step(rollouts, "web1") == RolloutAction::switch_now);
  // web1's deployer is killed mid-switch and runs the entry again.
  const auto rejoined = rollouts.join(p, "web1");
  CHECK(rejoined.row("web1")->state == RolloutHostState::building);
  CHECK(!rejoined.row("web1")->switch_started_at);
  CHECK(step(rollouts, "web2") == RolloutAction::wait);  // nobody switches before web1 builds
  rollouts.built("site", kEntry, "web1", "r1-again");
  CHECK(step(rollouts, "web2") == RolloutAction::wait);  // web1 comes first
  CHECK(step(rollouts, "web1") == RolloutAction::switch_now);
  CHECK(rollouts.rollout("site", kEntry)->row("web1")->release == "r1-again");
}

TEST_CASE("rollouts: superseded before some hosts switch; a finished rollout stays as it ended") {
  ledger_test::MigratedDatabase db;
  ledger::Rollouts rollouts{db.url()};
  const auto p = plan(1);
  build_all(rollouts, p);
  REQUIRE(step(rollouts, "web1") == RolloutAction::switch_now);
  rollouts.live("site", kEntry, "web1");
  const auto superseded = rollouts.supersede(p, "web3", "a newer push");
  CHECK(superseded.state == RolloutState::superseded);
  CHECK(superseded.row("web3")->state == RolloutHostState::superseded);
  CHECK(step(rollouts, "web1") == RolloutAction::superseded);  // live: keeps its release
  CHECK(rollouts.rollout("site", kEntry)->row("web1")->state == RolloutHostState::live);
  CHECK(step(rollouts, "web2") == RolloutAction::superseded);
  CHECK(rollouts.rollout("site", kEntry)->row("web2")->state == RolloutHostState::superseded);
  // Neither a failure nor another supersession changes an ended rollout.
  rollouts.fail("site", kEntry, "web2", "too late");
  CHECK(rollouts.rollout("site", kEntry)->state == RolloutState::superseded);
  // A host that never deployed an entry nobody joined yet ends it at once (made superseded).
  ledger::RolloutPlan other = p;
  other.entry_name = "00000000000000000002-b.json";
  CHECK(rollouts.supersede(other, "web1", "stale").state == RolloutState::superseded);
  CHECK(rollouts.join(other, "web2").state == RolloutState::superseded);
  CHECK(rollouts.recent("site", 10).size() == 2);
}
