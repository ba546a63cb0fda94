// site_file.cpp: the caller-privilege read and the atomic replace with its restore.
#include "deploy-privileged/site_file.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace privileged {
namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// Reads an open descriptor to its end, at most `cap` bytes.
std::string read_all(int fd, const std::string& name, std::size_t cap) {
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error(name + ": cannot read");
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > cap) {
      throw std::runtime_error(name + ": is larger than " + std::to_string(cap / 1024) + " KiB");
    }
  }
}

// Switches the effective ids to the caller's for the lifetime of this object; root's saved uid
// lets the destructor switch back. The helper is single-threaded, so the switch covers only the
// open below.
class AsCaller {
 public:
  AsCaller(uid_t uid, gid_t gid) {
    groups_.resize(static_cast<std::size_t>(::getgroups(0, nullptr)));
    if (::getgroups(static_cast<int>(groups_.size()), groups_.data()) < 0) {
      throw sys_error("getgroups");
    }
    std::vector<gid_t> caller_groups{gid};
    if (const passwd* pw = ::getpwuid(uid)) {
      int count = 64;
      caller_groups.resize(static_cast<std::size_t>(count));
      if (::getgrouplist(pw->pw_name, gid, caller_groups.data(), &count) < 0) {
        caller_groups.resize(static_cast<std::size_t>(count));
        ::getgrouplist(pw->pw_name, gid, caller_groups.data(), &count);
      }
      caller_groups.resize(static_cast<std::size_t>(count));
    }
    if (::setgroups(caller_groups.size(), caller_groups.data()) != 0 || ::setegid(gid) != 0 ||
        ::seteuid(uid) != 0) {
      restore();
      throw sys_error("cannot take the caller's identity");
    }
  }
  ~AsCaller() { restore(); }
  AsCaller(const AsCaller&) = delete;
  AsCaller& operator=(const AsCaller&) = delete;

 private:
  void restore() {
    // Failing to become root again would leave the helper half-privileged: stop at once.
    if (::seteuid(0) != 0 || ::setegid(0) != 0 ||
        ::setgroups(groups_.size(), groups_.data()) != 0) {
      std::abort();
    }
  }
  std::vector<gid_t> groups_;
};

void write_all(int fd, const std::string& text, const std::string& name) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error(name + ": cannot write");
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string read_caller_file(const std::filesystem::path& file, std::optional<uid_t> uid,
                             std::optional<gid_t> gid) {
  int fd = -1;
  {
    std::optional<AsCaller> as_caller;
    if (uid && *uid != 0) as_caller.emplace(*uid, gid.value_or(static_cast<gid_t>(*uid)));
    // O_NONBLOCK: opening a FIFO must not hang. RESOLVE_NO_SYMLINKS: no component of the path
    // may be a symbolic link, not only the last (O_NOFOLLOW alone would follow a linked folder).
    open_how how{};
    how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    fd = static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, file.c_str(), &how, sizeof how));
  }
  if (fd < 0) {
    if (errno == ELOOP) {
      throw std::runtime_error(file.string() + ": refused: is or passes through a symbolic link");
    }
    throw sys_error(file.string() + ": cannot open");
  }
  try {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw sys_error(file.string() + ": cannot stat");
    if (!S_ISREG(st.st_mode)) {
      throw std::runtime_error(file.string() + ": refused: not a regular file");
    }
    std::string text = read_all(fd, file.string(), kMaxSiteBytes);
    ::close(fd);
    return text;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

SiteFile::SiteFile(const std::filesystem::path& conf_dir, const std::string& site)
    : conf_dir_(conf_dir), site_(site) {
  dir_fd_ = ::open(conf_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd_ < 0) throw sys_error(conf_dir.string() + ": cannot open");
  if (::flock(dir_fd_, LOCK_EX) != 0) {
    const auto error = sys_error(conf_dir.string() + ": cannot lock");
    ::close(dir_fd_);
    throw error;
  }
  const int fd = ::openat(dir_fd_, site.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    try {
      previous_ = read_all(fd, (conf_dir / site).string(), 16 * kMaxSiteBytes);
    } catch (...) {
      ::close(fd);
      ::close(dir_fd_);
      throw;
    }
    ::close(fd);
  } else if (errno != ENOENT) {
    const auto error = sys_error((conf_dir / site).string() + ": cannot read the current file");
    ::close(dir_fd_);
    throw error;
  }
}

SiteFile::~SiteFile() {
  ::close(dir_fd_);
}  // also releases the flock

void SiteFile::install(const std::string& text) {
  replace(text);
}

void SiteFile::restore() {
  if (previous_) {
    replace(*previous_);
    return;
  }
  if (::unlinkat(dir_fd_, site_.c_str(), 0) != 0 && errno != ENOENT) {
    throw sys_error((conf_dir_ / site_).string() + ": cannot remove");
  }
  // The removal must be durable too, or a crash could bring the refused file back.
  if (::fsync(dir_fd_) != 0) throw sys_error(conf_dir_.string() + ": cannot sync");
}

void SiteFile::replace(const std::string& text) {
  const std::string temp = "." + site_ + ".tmp-" + std::to_string(::getpid());
  const std::string shown = (conf_dir_ / temp).string();
  // A leftover from a crashed run with the same pid would make O_EXCL fail: remove it first.
  ::unlinkat(dir_fd_, temp.c_str(), 0);
  const int fd =
      ::openat(dir_fd_, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw sys_error(shown + ": cannot create");
  try {
    write_all(fd, text, shown);
    // The data must be on disk before the rename makes it the site: otherwise a crash could
    // leave an empty site file that nginx would load.
    if (::fsync(fd) != 0) throw sys_error(shown + ": cannot sync");
    if (::close(fd) != 0) {
      ::unlinkat(dir_fd_, temp.c_str(), 0);
      throw sys_error(shown + ": cannot close");
    }
  } catch (...) {
    ::close(fd);
    ::unlinkat(dir_fd_, temp.c_str(), 0);
    throw;
  }
  if (::fchmodat(dir_fd_, temp.c_str(), 0644, 0) != 0 ||
      ::renameat(dir_fd_, temp.c_str(), dir_fd_, site_.c_str()) != 0) {
    const auto error = sys_error((conf_dir_ / site_).string() + ": cannot replace");
    ::unlinkat(dir_fd_, temp.c_str(), 0);
    throw error;
  }
  // The rename is durable only once the folder is synced.
  if (::fsync(dir_fd_) != 0) throw sys_error(conf_dir_.string() + ": cannot sync");
}

}  // namespace privileged
