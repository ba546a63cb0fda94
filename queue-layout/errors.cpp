// errors.cpp: the "queue_layout" error category (see errors.hpp).
#include "queue-layout/errors.hpp"

#include <cerrno>
#include <string>

namespace queue_layout {
namespace {

class QueueCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "queue_layout"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_name:
        return "name outside the allowed character set";
      case errc::not_a_regular_file:
        return "is not a regular file";
      case errc::temporary_exists:
        return "temporary file already exists";
    }
    return "unknown queue_layout error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& queue_category() noexcept {
  static const QueueCategory category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), queue_category()};
}

std::error_code last_errno() noexcept {
  return errno_code(errno);
}

std::error_code errno_code(int value) noexcept {
  return {value, std::system_category()};
}

}  // namespace queue_layout
