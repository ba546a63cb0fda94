// release.hpp: the release-mode parts of the deploy stages (deploy.hpp), on a ReleaseLayout.
//
//   prepare   the layout and the git store exist; which release is live and which is the last
//             good one (where a failed run goes back to)
//   build     remains of interrupted runs removed; releases/<new>/ created and recorded
//             (building); the commit checked out into it; `reuse` folders copied from the live
//             release when their lockfiles did not change; `shared` linked; the steps; the
//             preflight; REVISION written (ready)
//   switch    `current` renamed to the new release (or a rollback's target)
//   revert    after a failed activate step or health check: `current` back to the good
//             release, the activate steps run again there
//   retain    after a success: all but the newest `keep` releases removed, never the live one
//             nor the one before it
//
// With run_as, repo.git/, releases/ and shared/ belong to that user: git, the steps and every
// write into those folders (a release created, shared entries linked, REVISION written, a release
// removed) run as that user (deploy-step/layout.hpp); the deployer keeps the root folder and
// `current`, so only it switches the live release.
//
// Crash contract: `current` always names a complete release (release_layout.hpp). A run killed
// anywhere is run again from the start by the next deployer: it removes the incomplete folder
// the killed run left and builds a fresh release; until the rerun's switch, `current` still names
// the release it named before (or, if the kill came after the switch, the killed run's complete
// new release; the rerun then goes back to the last good release if it fails).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "deployer/context.hpp"
#include "deployer/environment.hpp"
#include "deployer/run_state.hpp"
#include "deployer/steps.hpp"

namespace deployer {

/// Sets state.layout, live_before and good (reading the ledger's releases), creates the folders
/// and the git store. Throws DeployFailure.
boost::asio::awaitable<void> prepare_release(Context& context, RunState& state);

/// Removes what interrupted runs left in releases/ (ReleaseLayout::clean_incomplete); returns
/// the incomplete releases removed. Throws only Stopped.
boost::asio::awaitable<std::vector<std::string>> clean_incomplete_releases(Context& context,
                                                                           RunState& state);

/// The build stage in release mode (see above). `vars` already names the new release.
boost::asio::awaitable<void> build_release(Context& context, RunState& state,
                                           const DeployVars& vars, const StepRecorder& record);

/// A new release name for state.push().after, and the DEPLOY_* release variables.
std::string name_new_release(const RunState& state);

/// Switches `current` to state.release and records the switch. Throws DeployFailure.
boost::asio::awaitable<void> switch_release(Context& context, RunState& state);

/// Runs the activate steps in path/current (kind "activate", ledger indexes from index_base;
/// not recorded). Throws DeployFailure ("activate <name>") or Stopped.
boost::asio::awaitable<void> run_activate(Context& context, RunState& state, const DeployVars& vars,
                                          int index_base);

/// After a failure once switched: back to state.good, activate steps again there, the failed
/// release recorded rolled back and removed. Returns what happened, for the failure's reason
/// ("rolled back to <release>" or why that failed). Never throws DeployFailure; throws Stopped.
boost::asio::awaitable<std::string> revert_release(Context& context, RunState& state,
                                                   const std::string& why);

/// A failure before the switch: the new release's folder removed, recorded failed.
boost::asio::awaitable<void> discard_release(Context& context, RunState& state,
                                             const std::string& why);

/// After a success: the release recorded deployed, older releases removed per `keep`.
boost::asio::awaitable<void> retain_releases(Context& context, RunState& state);

}  // namespace deployer
