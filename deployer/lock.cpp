// lock.cpp: see lock.hpp.
#include "deployer/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace deployer {

DeploymentLock::DeploymentLock(const std::filesystem::path& locks_dir,
                               const std::string& deployment)
    : path_(locks_dir / ("deployer-" + deployment + ".lock")) {
  // O_CLOEXEC matters: a step that leaves a daemon behind (pm2) must not inherit the descriptor,
  // or the lock would outlive this deployer and block its restart.
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open lock file " + path_.string() + ": " +
                             std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    std::string holder;
    char buffer[32] = {};
    ssize_t n = ::pread(fd_, buffer, sizeof buffer - 1, 0);
    if (n > 0) {
      holder = std::string(buffer, static_cast<std::size_t>(n));
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    }
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw std::runtime_error("another deployer for deployment '" + deployment +
                               "' is already running (" +
                               (holder.empty() ? std::string("lock") : "pid " + holder + " holds") +
                               " " + path_.string() + ")");
    }
    throw std::runtime_error("cannot lock " + path_.string() + ": " + std::strerror(error));
  }
  // The pid is informational only (see lock.hpp); a failure to write it changes nothing.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] ssize_t ignored = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

DeploymentLock::~DeploymentLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace deployer
