// site_file.hpp: reading the caller's file safely and replacing a site file in conf_dir.
//
// read_caller_file opens the file with the caller's own uid, gid and groups (when sudo started
// us), so root's privileges never reach a file the caller could not read itself: a hard link to
// /etc/shadow gets "Permission denied". No component of the path may be a symbolic link (openat2
// RESOLVE_NO_SYMLINKS): a release folder's owner could otherwise point it at a file only the
// caller may read. It must be a regular file of at most kMaxSiteBytes.
//
// SiteFile replaces <conf_dir>/<site> atomically: the new text goes to a dot-named temporary
// file created with O_EXCL, is fsynced, then renamed over the site (a reader, nginx included,
// sees the old file or the new one, never half of one), and the folder is fsynced so the rename
// survives a crash. restore() puts the previous text back the same way, or removes the site when
// there was none. While a SiteFile lives it holds an flock on conf_dir, so two installs never
// test each other's half-done state.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace privileged {

inline constexpr std::size_t kMaxSiteBytes = 256 * 1024;

/// The whole file, read as the caller (see above). Throws std::runtime_error naming the file.
std::string read_caller_file(const std::filesystem::path& file, std::optional<uid_t> uid,
                             std::optional<gid_t> gid);

class SiteFile {
 public:
  /// Opens and locks conf_dir and remembers the current text of `site` (if any).
  SiteFile(const std::filesystem::path& conf_dir, const std::string& site);
  ~SiteFile();
  SiteFile(const SiteFile&) = delete;
  SiteFile& operator=(const SiteFile&) = delete;

  /// Atomically replaces the site's file with `text`. Throws on failure (the old file stays).
  void install(const std::string& text);
  /// Puts back what was there before install (or removes the site if nothing was).
  void restore();

 private:
  void replace(const std::string& text);

  std::filesystem::path conf_dir_;
  std::string site_;
  int dir_fd_ = -1;
  std::optional<std::string> previous_;
};

}  // namespace privileged
