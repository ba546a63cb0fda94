// run_as.cpp: see run_as.hpp.
#include "deployer/run_as.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

std::string ensure_user_folder(const std::filesystem::path& dir, const std::string& user) {
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) return "no user named " + user;
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  const std::string fix =
      "as root: install -d -o " + user + " -g " + std::to_string(gid) + " " + dir.string();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return "cannot inspect " + dir.string() + ": " + std::strerror(errno);
    if (::geteuid() != 0) return dir.string() + " does not exist (" + fix + ")";
    // The deployer as root (tests, allow_root): created, then given away before anything is
    // written into it; the parent's fsync makes the new entry durable.
    if (::mkdir(dir.c_str(), 0755) != 0 || ::chown(dir.c_str(), uid, gid) != 0) {
      return "cannot create " + dir.string() + " for " + user + ": " + std::strerror(errno);
    }
    const int fd = ::open(dir.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      const bool synced = ::fsync(fd) == 0;
      ::close(fd);
      if (!synced) return "cannot fsync " + dir.parent_path().string();
    }
    return "";
  }
  if (!S_ISDIR(st.st_mode)) return dir.string() + " is not a folder";
  if (st.st_uid != uid) {
    return dir.string() + " belongs to uid " + std::to_string(st.st_uid) + ", not to " + user +
           " (run_as) who builds there (" + fix + ", or chown -R " + user + ": " + dir.string() +
           ")";
  }
  return "";
}

}  // namespace deployer
