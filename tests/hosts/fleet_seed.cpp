// fleet_seed.cpp: see fleet_seed.hpp.
#include "tests/hosts/fleet_seed.hpp"

#include <stdexcept>

#include "common/ledger/ledger.hpp"
#include "common/ledger/rollouts.hpp"

namespace fleet_test {

std::string old_sha() {
  return std::string(40, 'a');
}

std::string new_sha() {
  return std::string(40, 'b');
}

std::string old_release(const std::string& host) {
  // web1 -> ...T010001..., web2 -> ...T010002...: each host built it at its own moment.
  return "20261206T01000" + host.substr(3) + ".000Z-aaaaaaaaaaaa";
}

namespace {

std::string new_release(const std::string& host) {
  return "20261206T02000" + host.substr(3) + ".000Z-bbbbbbbbbbbb";
}

void require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("seed_failed_rollout: " + what);
}

}  // namespace

void seed_failed_rollout(const std::string& url, const std::string& deployment) {
  ledger::Ledger ledger(url);
  const std::string ref = "refs/heads/main";
  const std::string first = "00000000000000000001-d1.json";
  for (const auto& host : kHosts) {
    const std::string name = deployment + "@" + host;
    ledger.claim(name, first, old_sha(), ref);
    const auto run = ledger.start_run(name, first, old_sha(), ref, std::nullopt, std::nullopt);
    ledger.record_release(name, old_release(host), old_sha(), run,
                          ledger::ReleaseOutcome::building);
    ledger.record_switch(name, run, std::nullopt, old_release(host), ledger::SwitchReason::deploy);
    ledger.record_release(name, old_release(host), old_sha(), run,
                          ledger::ReleaseOutcome::deployed);
    ledger.finish_run(run, ledger::RunOutcome::succeeded);
  }

  ledger::Rollouts rollouts(url);
  const ledger::RolloutPlan plan{deployment, kRolloutEntry, new_sha(), kHosts, 1};
  const ledger::HostDownRule rule{};
  std::vector<ledger::RunId> runs;
  for (const auto& host : kHosts) {
    const std::string name = deployment + "@" + host;
    ledger.claim(name, kRolloutEntry, new_sha(), ref);
    runs.push_back(ledger.start_run(name, kRolloutEntry, new_sha(), ref, old_sha(), std::nullopt));
    rollouts.join(plan, host);
  }
  for (const auto& host : kHosts)
    rollouts.built(deployment, kRolloutEntry, host, new_release(host));
  require(rollouts.step(deployment, kRolloutEntry, "web1", rule).action ==
              ledger::RolloutAction::switch_now,
          "web1 may not switch first");
  rollouts.live(deployment, kRolloutEntry, "web1");
  require(rollouts.step(deployment, kRolloutEntry, "web2", rule).action ==
              ledger::RolloutAction::switch_now,
          "web2 may not switch second");
  rollouts.fail(deployment, kRolloutEntry, "web2", kHealthError);
  rollouts.end_host(deployment, kRolloutEntry, "web1", ledger::RolloutHostState::rolled_back,
                    "the rollout failed on web2");
  rollouts.end_host(deployment, kRolloutEntry, "web3", ledger::RolloutHostState::not_switched, "");
  ledger.finish_run(runs[0], ledger::RunOutcome::failed, "rolled back: the rollout failed on web2");
  ledger.finish_run(runs[1], ledger::RunOutcome::failed, kHealthError);
  ledger.finish_run(runs[2], ledger::RunOutcome::failed,
                    "not switched: the rollout failed on web2");
}

}  // namespace fleet_test
