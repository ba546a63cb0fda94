// layout.hpp: `deploy-step layout ROOT OP ARGS...`, the release-folder writes of a run_as
// deployment, done as that user.
//
// In release mode with run_as, repo.git/, releases/ and shared/ belong to the deployment's user
// (it builds there, and git refuses a repository another user owns); the deployer, another
// unprivileged user, cannot write into them. So the deployer runs these few common::ReleaseLayout
// operations as that user, through sudo and deploy-step like any step (the request's argv is
// this program with these arguments):
//   create-release NAME      link-shared NAME ENTRY...      mark-complete NAME SHA
//   remove NAME              clean-incomplete  (prints each incomplete release removed, a line
//   each)
// `current` and ROOT itself stay the deployer's: the user cannot switch the live release.
#pragma once

#include <string>
#include <vector>

namespace step {

/// Runs one operation; `args` is {ROOT, OP, ARGS...}. Returns the exit status (0, or 1 after one
/// line on stderr naming the operation and the error, common::kTransientDiskExit instead when
/// that error was a full disk or an I/O error; 2 for arguments it does not understand).
int run_layout(const std::vector<std::string>& args);

}  // namespace step
