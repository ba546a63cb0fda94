// disk_error.hpp: which write errors are a condition of the machine rather than of what was
// written, so that waiting or trying again later can help.
#pragma once

#include <system_error>

namespace common {

/// ENOSPC, EDQUOT or EIO: a full disk, a full quota, a failing disk.
bool transient_disk_error(const std::error_code& ec);

/// The exit status of `deploy-step layout` when its write failed with such an error (sysexits'
/// EX_TEMPFAIL), so the deployer can tell it from a refusal.
inline constexpr int kTransientDiskExit = 75;

}  // namespace common
