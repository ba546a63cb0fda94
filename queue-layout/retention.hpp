// retention.hpp: bounding done/ by age and count.
//
// Only done/ is pruned; failed/ and rejected/ stay until a person acts on them. Age is read from
// the entry name's timestamp (its arrival time), so pruning needs no stat, oldest-first order is
// name order, and an entry's age does not change when it is moved or copied.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <system_error>

#include "queue-layout/fs.hpp"

namespace queue_layout {

struct PruneResult {
  std::size_t removed = 0;  // entries removed (sidecars not counted)
  std::error_code error;    // the first error; pruning stops there
};

/// Removes, oldest first, the canonical entries of `dir` that are older than `max_age` or
/// beyond the newest `max_count` (either limit may be absent), each with its sidecars
/// ("<entry>.reason", "<entry>.error.json") removed before it, so a crash never leaves a sidecar
/// whose entry is gone. Strays, dot-files and anything else are never touched. `now` is the
/// reference time for ages. The folder is fsynced once at the end: a removal forgotten by a
/// crash is simply redone next time.
PruneResult prune_done(
    const std::filesystem::path& dir, std::optional<std::chrono::nanoseconds> max_age,
    std::optional<std::size_t> max_count, FileSystem& fs = real_fs(),
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace queue_layout
