// lock.hpp: one deployer per deployment, enforced with flock(2).
//
// The lock is an exclusive, non-blocking flock on <state>/locks/deployer-<name>.lock, held for
// the life of the process. The kernel drops it when the process dies, however it dies (kill -9
// included), so there is no stale lock to clean up. The file's content (the holder's pid) is
// only a hint for people; the flock is the truth.
#pragma once

#include <filesystem>
#include <string>

namespace deployer {

class DeploymentLock {
 public:
  /// Takes the lock or throws std::runtime_error with a message an operator can act on:
  /// "another deployer for deployment 'x' is running (pid 123 holds <file>)".
  DeploymentLock(const std::filesystem::path& locks_dir, const std::string& deployment);
  ~DeploymentLock();
  DeploymentLock(const DeploymentLock&) = delete;
  DeploymentLock& operator=(const DeploymentLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace deployer
