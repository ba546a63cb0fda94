// recover.hpp: startup recovery of a queue folder: removing temporaries of dead publishers.
//
// A publisher that crashes between creating its temporary and renaming it leaves
// ".<name>.<pid>.tmp" behind. Readers never take dot-names, so a leftover is harmless but
// useless: its bytes were never acknowledged to anyone (the publisher returned no success), so
// removing it loses nothing.
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>

#include "queue-layout/fs.hpp"

namespace queue_layout {

/// The pid in a temporary name ".<name>.<pid>.tmp", or nothing if `name` is not one.
std::optional<pid_t> temporary_pid(std::string_view name);

/// Removes the temporaries in `dir` whose pid is not alive (kill(pid, 0) fails with ESRCH) or is
/// this process's own (left by an earlier incarnation that had the same pid). Returns how many
/// were removed; errors (an unreadable folder, a failed unlink) only leave temporaries behind.
/// Call it at startup, before this process publishes into `dir`: a temporary of this very
/// process's publish in progress would be removed and that publish would fail.
/// The folder is not fsynced: a removal forgotten by a crash is redone at the next startup.
/// A dead pid that was reused by an unrelated live process keeps its temporary until later.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir, FileSystem& fs = real_fs());

}  // namespace queue_layout
