// disk_error.cpp: see disk_error.hpp.
#include "common/disk_error.hpp"

#include <cerrno>

namespace common {

bool transient_disk_error(const std::error_code& ec) {
  return ec == std::errc::no_space_on_device || ec == std::errc::io_error ||
         (ec.category() == std::generic_category() && ec.value() == EDQUOT);
}

}  // namespace common
