// run_as.hpp: the start-up checks and the base environment of a deployment with run_as.
//
// A run_as user must exist, and may be neither root nor the deployer's own user unless the
// configuration says "allow_root": either would hand a step the pipeline's powers (its secrets,
// its queues, its binaries) back. The base environment of such a deployment's commands is built
// from scratch: nothing of the deployer's own environment reaches that user.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace deployer {

/// Throws std::runtime_error naming the deployment, the key and the problem when its run_as user
/// is missing, root, or `own_uid` (the deployer's effective uid), unless allow_root.
void check_run_as(const common::Config& config, const common::Deployment& deployment,
                  uid_t own_uid);

/// The environment a run_as deployment's commands start from: a fixed PATH and locale. The
/// deployment's env, the DEPLOY_* variables and (by deploy-step) HOME, USER and LOGNAME are added
/// on top.
std::vector<std::string> run_as_base_environment();

/// Release mode with run_as: `dir` (repo.git/, releases/ or shared/) must be a folder of `user`,
/// who builds there. A missing one is created and given to that user when the deployer runs as
/// root; otherwise it must exist already (docs/operations.md creates them once). Returns "" or
/// what is wrong, with the command that fixes it.
std::string ensure_user_folder(const std::filesystem::path& dir, const std::string& user);

}  // namespace deployer
