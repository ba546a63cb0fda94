// layout.hpp: the folders of the state directory and their creation.
//
//   <root>/inbox/               receiver -> router
//   <root>/queues/<deployment>/ router -> deployer; operators drop replays here
//   <root>/active/<deployment>/ the one entry being deployed right now
//   <root>/done/<deployment>/   deployed entries (pruned by retention)
//   <root>/failed/<deployment>/ failed entries, each with <name>.error.json
//   <root>/rejected/            inbox entries that could not be understood, with <name>.reason
//   <root>/logs/<deployment>/   one log file per deploy run
//   <root>/outbox/<deployment>/ notifications waiting to be sent (the deployer creates it)
//   <root>/locks/               flock(2) files (one per deployment, one per singleton program)
//
// All of it must be one filesystem: moves are link+unlink and renames, which do not cross
// filesystems. Deployment names are used in paths, so they are checked first.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"

namespace queue_layout {

/// [A-Za-z0-9_-]{1,100}, the same set as an entry uniquifier.
bool is_safe_deployment_name(std::string_view name);

/// Paths of the state directory. Pure path arithmetic: nothing is touched on disk.
class Layout {
 public:
  explicit Layout(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path inbox() const;
  std::filesystem::path rejected() const;
  std::filesystem::path locks() const;
  /// The per-deployment folders. Throw std::invalid_argument when the deployment name fails
  /// is_safe_deployment_name: configuration is validated at startup, so that is a bug.
  std::filesystem::path queue(std::string_view deployment) const;
  std::filesystem::path active(std::string_view deployment) const;
  std::filesystem::path done(std::string_view deployment) const;
  std::filesystem::path failed(std::string_view deployment) const;
  std::filesystem::path logs(std::string_view deployment) const;
  std::filesystem::path outbox(std::string_view deployment) const;
  /// The folders an entry of `deployment` passes through, in the order it travels: queue,
  /// active, done, failed (a move links into the next before unlinking from the previous one).
  std::array<std::filesystem::path, 4> entry_folders(std::string_view deployment) const;

 private:
  std::filesystem::path per_deployment(const char* folder, std::string_view deployment) const;
  std::filesystem::path root_;
};

/// Creates the root and every folder above (inbox, rejected, locks, and queues, active, done,
/// failed, logs of each deployment) with mode 0700, since payloads can be private. Existing
/// folders are left as they are. Each created folder's parent is fsynced, so the folders survive
/// a crash once this returns 0. errc::invalid_name if a deployment name is unsafe; otherwise the
/// first error, naming nothing itself: callers report the layout root with it.
std::error_code ensure_layout(const Layout& layout, const std::vector<std::string>& deployments,
                              FileSystem& fs = real_fs());

/// Creates `dir` and any missing parents (mode 0700), fsyncing the parent of each one created.
/// An existing non-folder in the way gives ENOTDIR.
std::error_code ensure_dir(const std::filesystem::path& dir, FileSystem& fs = real_fs());

}  // namespace queue_layout
