// write_all.hpp: writing a whole buffer to a descriptor, the one loop for it.
//
// write(2) may take part of a buffer (a full pipe, a signal); this repeats until every byte is
// written, retries EINTR, and stops at the first real error. No fsync: callers that need the
// bytes durable say so next to their own fsync.
#pragma once

#include <string_view>
#include <system_error>

namespace common {

/// Writes all of `bytes` to `fd`. Returns the error of the first write that failed (a write
/// taking nothing counts as EIO); bytes before it may have been written.
std::error_code write_all(int fd, std::string_view bytes);

}  // namespace common
