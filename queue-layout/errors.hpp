// errors.hpp: the queue's own error codes, for conditions that have no errno of their own.
//
// Environment errors (a full disk, a missing folder) come back as std::error_code in the
// system category, exactly as the kernel reported them. The codes below cover what the queue
// itself refuses: a name outside the allowed character set, an entry that is not a regular file,
// a temporary file that is already there. describe() in read.hpp turns any of them into words.
#pragma once

#include <system_error>

namespace queue_layout {

enum class errc {
  invalid_name = 1,        // a file or folder name outside the allowed character set
  not_a_regular_file = 2,  // a FIFO, socket or device where an entry file was expected
  temporary_exists = 3,    // the dot-temporary of a publish is already there (see publish.hpp)
};

const std::error_category& queue_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// The current errno as an error_code (system category, so `ec == std::errc::...` works).
std::error_code last_errno() noexcept;
/// An errno value as an error_code.
std::error_code errno_code(int value) noexcept;

}  // namespace queue_layout

template <>
struct std::is_error_code_enum<queue_layout::errc> : std::true_type {};
