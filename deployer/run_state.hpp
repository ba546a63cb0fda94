// run_state.hpp: what one deploy run knows, passed from stage to stage (deploy.hpp).
//
// Each stage reads what the earlier ones found and adds its own part; nothing else carries
// state between them. Release-mode fields are empty in place.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ledger/ledger.hpp"
#include "common/release_layout.hpp"
#include "deployer/git.hpp"
#include "deployer/intake.hpp"
#include "deployer/run_log.hpp"

namespace deployer {

struct RunState {
  using Clock = std::chrono::steady_clock;

  // --- take: the entry and why it runs
  std::string name;
  TakenEntry taken;  // taken.push.after is the commit (a rollback's: its target release's)
  ledger::Trigger trigger = ledger::Trigger::operator_;
  std::optional<ledger::DeliveryKey> delivery;
  std::string delivery_id;
  std::unique_ptr<RunLog> log;
  Clock::time_point started = Clock::now();
  int attempt = 1;  // the ledger's: 2, 3, ... for automatic retries (retry.hpp)

  // --- prepare: git, the deployed state, the run
  std::unique_ptr<Git> git;
  ledger::DeployedState deployed;                  // before this run
  std::optional<std::string> rollback_high_water;  // an operator's older commit (staleness.hpp)
  std::optional<ledger::RunId> run;

  // --- build
  std::vector<std::string> changed;
  std::filesystem::path changed_file;

  // --- release mode
  std::optional<common::ReleaseLayout> layout;
  std::optional<std::string> live_before;  // the release `current` named when the run began
  std::optional<std::string> good;         // where a failed run goes back to
  std::string release;                     // the release this run makes live
  bool built = false;                      // this run created `release` (not a rollback's target)
  bool switched = false;                   // `current` names `release` because of this run
  bool rollout = false;  // switched in turn with the deployment's other hosts (rollout.hpp)

  const common::Push& push() const { return taken.push; }
  bool is_rollback_entry() const { return taken.rollback.has_value(); }
  /// Any rollback: a `deployctl rollback` entry, or an operator's entry of an older commit.
  bool is_rollback() const { return is_rollback_entry() || rollback_high_water.has_value(); }
};

}  // namespace deployer
