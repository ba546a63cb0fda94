// rollouts.hpp: the ledger side of the rolling switch of a deployment on several hosts
// (docs/hosts.md "Rolling switch", migration 0006).
//
// Each host's deployer runs its copy of an entry (the entry has one name on every host) through
// these calls, in this order:
//   join      at the start of every run of the entry: the rollout row made if it is the first,
//             this host's row (re)set to building;
//   built     its release is complete and preflighted: nothing live has changed yet;
//   step      polled while it waits (every call is also its sign of life): whether it may switch
//             now (at most max_parallel hosts switching, in the order of `hosts`), once live
//             whether every host is live, and whether the rollout ended meanwhile;
//   live      switched, activated and healthy;
//   fail      its build, preflight, switch, activation or health check failed: the rollout fails,
//             so no other host switches and those already live roll back;
//   end_host  what became of this host when the rollout ended without it (not_switched,
//             rolled_back, superseded);
//   supersede the entry is not deployed (a newer push, stale, skipped): the rollout ends, and
//             hosts not yet switched do not switch.
// Every call is one transaction under pg_advisory_xact_lock on the deployment, so decisions that
// read several hosts' rows see them all at one instant, and a deployer that dies holding the lock
// releases it with its connection. Every call is idempotent: repeating it after an Unavailable
// (or a restarted deployer running the entry again) does no harm.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ledger/types.hpp"

namespace ledger {

namespace detail {
class Session;
}

enum class RolloutState { building, switching, succeeded, failed, superseded };

/// Where one host is in a rollout.
///   building      its run of the entry began; its release is being built (or it was killed)
///   built         release complete and preflighted, waiting for its turn
///   switching     its turn: switching, activating, health check
///   live          switched and healthy, waiting for the others
///   failed        its own build, preflight, switch, activation or health check failed
///   not_switched  the rollout ended (failed) before its turn: it never switched
///   rolled_back   it was live and went back to its previous release when the rollout failed
///   skipped       it did not answer within host_timeout_s and on_host_down is "skip"
///   superseded    the rollout was superseded before its turn
enum class RolloutHostState {
  building,
  built,
  switching,
  live,
  failed,
  not_switched,
  rolled_back,
  skipped,
  superseded
};

std::string_view to_string(RolloutState value);
std::string_view to_string(RolloutHostState value);
RolloutState parse_rollout_state(std::string_view text);
RolloutHostState parse_rollout_host_state(std::string_view text);

struct RolloutHost {
  std::string host;
  RolloutHostState state = RolloutHostState::building;
  std::optional<std::string> release;
  std::string error;
  Time joined_at{};
  Time seen_at{};
  std::optional<Time> built_at;
  std::optional<Time> switch_started_at;
  std::optional<Time> live_at;
  std::optional<Time> ended_at;
};

struct Rollout {
  std::string deployment;  ///< the deployment's plain name (not a ledger name)
  std::string entry_name;
  std::string sha;
  std::vector<std::string> hosts;  ///< switching order
  int max_parallel = 1;
  RolloutState state = RolloutState::building;
  std::string reason;
  std::optional<std::string> failed_host;
  Time created_at{};
  Time updated_at{};
  std::optional<Time> finished_at;
  /// The hosts that have joined, in the order of `hosts`.
  std::vector<RolloutHost> host_rows;

  bool finished() const {
    return state != RolloutState::building && state != RolloutState::switching;
  }
  /// This host's row, or null when it has not joined.
  const RolloutHost* row(std::string_view host) const;
};

/// What a rollout is, as the first host to join records it.
struct RolloutPlan {
  std::string deployment;
  std::string entry_name;
  std::string sha;
  std::vector<std::string> hosts;
  int max_parallel = 1;
};

/// How long a host may take before it counts as down, and what then (rollout.on_host_down).
struct HostDownRule {
  std::chrono::seconds timeout{600};
  bool skip = false;
};

/// What step() tells a waiting host.
enum class RolloutAction {
  wait,        ///< nothing to do yet: call step() again shortly
  switch_now,  ///< its turn: this host's row is now `switching`
  succeeded,   ///< every host is live (or skipped): finish as a success
  failed,      ///< the rollout failed: a host that is live rolls back, others discard
  superseded   ///< the rollout was superseded: a host not yet switched discards its release
};

struct RolloutStep {
  RolloutAction action = RolloutAction::wait;
  Rollout rollout;  ///< as it stands after the step
  /// The hosts it waits for (not built yet, or switching), for the log and status.
  std::vector<std::string> waiting_for;
  /// Hosts this step marked skipped (on_host_down "skip").
  std::vector<std::string> skipped;
};

class Rollouts {
 public:
  /// `url`: as Ledger's. Throws Error when it is malformed; does not connect.
  explicit Rollouts(std::string url);
  ~Rollouts();
  Rollouts(const Rollouts&) = delete;
  Rollouts& operator=(const Rollouts&) = delete;

  /// Makes the rollout of `plan` if it is new, and when it is not finished, sets `host`'s row to
  /// building (a run of the entry starting again after a crash starts over), keeping a row
  /// `skipped`. Returns the rollout.
  Rollout join(const RolloutPlan& plan, const std::string& host);

  /// `host` has built `release` (no-op unless its row is building and the rollout unfinished).
  void built(const std::string& deployment, const std::string& entry, const std::string& host,
             const std::string& release);

  /// See RolloutAction. Also marks late hosts skipped (rule.skip) and the rollout succeeded once
  /// every host is live or skipped.
  RolloutStep step(const std::string& deployment, const std::string& entry, const std::string& host,
                   const HostDownRule& rule);

  /// `host` passed its health check. Returns the rollout.
  Rollout live(const std::string& deployment, const std::string& entry, const std::string& host);

  /// `host` failed with `error`; the rollout fails (when it is not finished) naming it.
  Rollout fail(const std::string& deployment, const std::string& entry, const std::string& host,
               const std::string& error);

  /// `host`'s row ends in `state` (not_switched, rolled_back, superseded) with `error`.
  void end_host(const std::string& deployment, const std::string& entry, const std::string& host,
                RolloutHostState state, const std::string& error);

  /// Ends the rollout of `plan` as superseded (making it if nobody has joined yet) unless it is
  /// finished; `host`'s row, if any and not live, becomes superseded.
  Rollout supersede(const RolloutPlan& plan, const std::string& host, const std::string& reason);

  /// The rollout of one entry, or nullopt.
  std::optional<Rollout> rollout(const std::string& deployment, const std::string& entry);

  /// The newest `limit` rollouts of `deployment`, newest first.
  std::vector<Rollout> recent(const std::string& deployment, std::size_t limit);

 private:
  std::unique_ptr<detail::Session> session_;
};

}  // namespace ledger
