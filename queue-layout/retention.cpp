// retention.cpp: prune_done (see retention.hpp).
#include "queue-layout/retention.hpp"

#include <string>

#include "queue-layout/dir.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/scan.hpp"

namespace queue_layout {
namespace {

bool too_old(const std::string& name, std::optional<std::chrono::nanoseconds> max_age,
             std::chrono::system_clock::time_point now) {
  if (!max_age) return false;
  const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::uint64_t stamp = entry_timestamp(name);
  if (now_ns <= 0 || stamp >= static_cast<std::uint64_t>(now_ns)) return false;
  return static_cast<std::uint64_t>(now_ns) - stamp > static_cast<std::uint64_t>(max_age->count());
}

std::error_code remove_name(FileSystem& fs, int dirfd, const std::string& name) {
  const std::error_code ec = fs.unlink(dirfd, name.c_str(), 0);
  return ec == std::errc::no_such_file_or_directory ? std::error_code{} : ec;
}

}  // namespace

PruneResult prune_done(const std::filesystem::path& dir,
                       std::optional<std::chrono::nanoseconds> max_age,
                       std::optional<std::size_t> max_count, FileSystem& fs,
                       std::chrono::system_clock::time_point now) {
  PruneResult result;
  Listing listing;
  if ((result.error = list_entries(dir, listing))) return result;
  UniqueFd dirfd;
  if ((result.error = open_dir(dir, dirfd, fs))) return result;

  const auto& entries = listing.entries;  // oldest first
  const std::size_t over_count =
      max_count && entries.size() > *max_count ? entries.size() - *max_count : 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& name = entries[i];
    if (i >= over_count && !too_old(name, max_age, now)) break;  // newer ones are younger still
    // Sidecars first: a crash between leaves an entry without its sidecar, which the next
    // run prunes, rather than an orphan sidecar nothing would ever remove.
    for (const auto& sidecar : {reason_name(name), error_name(name)}) {
      if ((result.error = remove_name(fs, dirfd.get(), sidecar))) return result;
    }
    if ((result.error = remove_name(fs, dirfd.get(), name))) return result;
    ++result.removed;
  }
  if (result.removed > 0) result.error = fs.fsync(dirfd.get());
  return result;
}

}  // namespace queue_layout
