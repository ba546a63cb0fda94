// run_as.cpp: see run_as.hpp.
#include "deployer/run_as.hpp"

#include <pwd.h>

#include <stdexcept>

namespace deployer {

void check_run_as(const common::Config& config, const common::Deployment& deployment,
                  uid_t own_uid) {
  if (deployment.run_as.empty()) return;
  const std::string where = config.file.string() + ": deployments." + deployment.name + ".run_as: ";
  const passwd* pw = ::getpwnam(deployment.run_as.c_str());
  if (pw == nullptr) {
    throw std::runtime_error(where + "no user named " + deployment.run_as + " on this machine");
  }
  if (config.allow_root) return;
  if (pw->pw_uid == 0) {
    throw std::runtime_error(where + deployment.run_as +
                             " is root: steps would run with every privilege (set \"allow_root\": "
                             "true to allow it)");
  }
  if (pw->pw_uid == own_uid) {
    throw std::runtime_error(where + deployment.run_as +
                             " is the deployer's own user: steps could read its secrets and "
                             "write its queues (set \"allow_root\": true to allow it)");
  }
}

std::vector<std::string> run_as_base_environment() {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
}

}  // namespace deployer
