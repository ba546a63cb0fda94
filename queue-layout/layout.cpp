// layout.cpp: Layout paths and ensure_layout (see layout.hpp).
#include "queue-layout/layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <stdexcept>

#include "queue-layout/dir.hpp"
#include "queue-layout/errors.hpp"
#include "queue-layout/name.hpp"

namespace queue_layout {

bool is_safe_deployment_name(std::string_view name) {
  return is_safe_uniquifier(name);
}

Layout::Layout(std::filesystem::path root) : root_(std::move(root)) {}

std::filesystem::path Layout::inbox() const {
  return root_ / "inbox";
}
std::filesystem::path Layout::rejected() const {
  return root_ / "rejected";
}
std::filesystem::path Layout::locks() const {
  return root_ / "locks";
}
std::filesystem::path Layout::queue(std::string_view d) const {
  return per_deployment("queues", d);
}
std::filesystem::path Layout::active(std::string_view d) const {
  return per_deployment("active", d);
}
std::filesystem::path Layout::done(std::string_view d) const {
  return per_deployment("done", d);
}
std::filesystem::path Layout::failed(std::string_view d) const {
  return per_deployment("failed", d);
}

std::array<std::filesystem::path, 4> Layout::entry_folders(std::string_view d) const {
  return {queue(d), active(d), done(d), failed(d)};
}
std::filesystem::path Layout::logs(std::string_view d) const {
  return per_deployment("logs", d);
}

std::filesystem::path Layout::outbox(std::string_view d) const {
  return per_deployment("outbox", d);
}

std::filesystem::path Layout::per_deployment(const char* folder,
                                             std::string_view deployment) const {
  if (!is_safe_deployment_name(deployment)) {
    throw std::invalid_argument("deployment name \"" + std::string(deployment) +
                                "\" is not [A-Za-z0-9_-]{1,100}");
  }
  return root_ / folder / std::string(deployment);
}

std::error_code ensure_dir(const std::filesystem::path& dir, FileSystem& fs) {
  const std::filesystem::path path = dir.lexically_normal();
  struct ::stat st {};
  std::error_code ec = fs.stat(AT_FDCWD, path.c_str(), st, 0);
  if (!ec)
    return S_ISDIR(st.st_mode) ? std::error_code{}
                               : std::make_error_code(std::errc::not_a_directory);
  if (ec != std::errc::no_such_file_or_directory) return ec;

  std::filesystem::path parent = path.parent_path();
  std::filesystem::path leaf = path.filename();
  if (leaf.empty()) {  // "a/b/" after normalisation: the last real component
    leaf = parent.filename();
    parent = parent.parent_path();
  }
  if (parent.empty()) parent = ".";
  if (const auto e = ensure_dir(parent, fs)) return e;

  UniqueFd parent_fd;
  if (const auto e = open_dir(parent, parent_fd, fs)) return e;
  ec = fs.mkdir(parent_fd.get(), leaf.c_str(), 0700);
  if (ec == std::errc::file_exists) {
    // Someone else created it meanwhile: fine if it is a folder.
    if (const auto e = fs.stat(parent_fd.get(), leaf.c_str(), st, 0)) return e;
    return S_ISDIR(st.st_mode) ? std::error_code{}
                               : std::make_error_code(std::errc::not_a_directory);
  }
  if (ec) return ec;
  // The new folder's name lives in its parent: without this a crash could forget the folder
  // and, with it, every entry later published into it.
  return fs.fsync(parent_fd.get());
}

std::error_code ensure_layout(const Layout& layout, const std::vector<std::string>& deployments,
                              FileSystem& fs) {
  for (const auto& d : deployments) {
    if (!is_safe_deployment_name(d)) return make_error_code(errc::invalid_name);
  }
  for (const auto& dir : {layout.inbox(), layout.rejected(), layout.locks()}) {
    if (const auto ec = ensure_dir(dir, fs)) return ec;
  }
  for (const auto& d : deployments) {
    for (const auto& dir : layout.entry_folders(d)) {
      if (const auto ec = ensure_dir(dir, fs)) return ec;
    }
    if (const auto ec = ensure_dir(layout.logs(d), fs)) return ec;
  }
  return {};
}

}  // namespace queue_layout
