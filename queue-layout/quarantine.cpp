// quarantine.cpp: reason first, then the move (see quarantine.hpp).
#include "queue-layout/quarantine.hpp"

#include <string>

#include "queue-layout/dir.hpp"
#include "queue-layout/errors.hpp"
#include "queue-layout/move.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"

namespace queue_layout {
namespace {

/// Directories cannot be hard-linked (EPERM): rename without replacing, which is atomic within
/// one filesystem, so the folder is in exactly one place at any instant.
std::error_code move_directory(const std::filesystem::path& from_dir,
                               const std::filesystem::path& to_dir, const std::string& name,
                               FileSystem& fs) {
  UniqueFd from;
  UniqueFd to;
  if (const auto ec = open_dir(from_dir, from, fs)) return ec;
  if (const auto ec = open_dir(to_dir, to, fs)) return ec;
  if (const auto ec = fs.rename_noreplace(from.get(), name.c_str(), to.get(), name.c_str())) {
    return ec;
  }
  // Both folders changed: the new name first, so a crash cannot lose it.
  if (const auto ec = fs.fsync(to.get())) return ec;
  return fs.fsync(from.get());
}

}  // namespace

std::error_code quarantine(const std::filesystem::path& from_dir,
                           const std::filesystem::path& to_dir, std::string_view name,
                           std::string_view reason, FileSystem& fs) {
  if (!is_plain_component(name)) return make_error_code(errc::invalid_name);
  const std::string n(name);
  std::string text(reason);
  text += '\n';
  // The reason is durable before the file moves: an operator never finds a quarantined file
  // without knowing why. EEXIST: an earlier, interrupted run already wrote it.
  std::error_code ec = detail::publish_component(to_dir, reason_name(n), text, fs);
  if (ec && ec != std::errc::file_exists) return ec;
  ec = move_entry(from_dir, to_dir, n, fs);
  if (ec == std::errc::operation_not_permitted) ec = move_directory(from_dir, to_dir, n, fs);
  return ec;
}

}  // namespace queue_layout
