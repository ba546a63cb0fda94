// name.cpp: entry-name syntax and the monotonic NameClock (see name.hpp).
#include "queue-layout/name.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace queue_layout {
namespace {

constexpr std::size_t kTimestampDigits = 20;
constexpr std::size_t kMaxUniquifier = 100;
constexpr std::string_view kSuffix = ".json";

bool is_uniquifier_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::int64_t system_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool is_safe_uniquifier(std::string_view uniquifier) {
  return !uniquifier.empty() && uniquifier.size() <= kMaxUniquifier &&
         std::all_of(uniquifier.begin(), uniquifier.end(), is_uniquifier_char);
}

bool is_entry_name(std::string_view name) {
  if (name.size() < kTimestampDigits + 1 + 1 + kSuffix.size()) return false;
  if (!name.ends_with(kSuffix)) return false;
  const std::string_view stamp = name.substr(0, kTimestampDigits);
  if (!std::all_of(stamp.begin(), stamp.end(), is_digit)) return false;
  if (name[kTimestampDigits] != '-') return false;
  const std::string_view uniquifier =
      name.substr(kTimestampDigits + 1, name.size() - kTimestampDigits - 1 - kSuffix.size());
  return is_safe_uniquifier(uniquifier);
}

std::uint64_t entry_timestamp(std::string_view name) {
  if (!is_entry_name(name)) return 0;
  std::uint64_t value = 0;
  for (char c : name.substr(0, kTimestampDigits)) {
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    // 20 digits can exceed 2^64-1 (99999999999999999999): saturate instead of wrapping, so
    // such a name still sorts, and ages, as the newest possible.
    if (value > (UINT64_MAX - digit) / 10) return UINT64_MAX;
    value = value * 10 + digit;
  }
  return value;
}

std::string reason_name(std::string_view name) {
  return std::string(name) + ".reason";
}

std::string error_name(std::string_view name) {
  return std::string(name) + ".error.json";
}

std::string process_uniquifier() {
  static std::atomic<std::uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1) + 1);
}

NameClock::NameClock() : NameClock(system_now_ns) {}

NameClock::NameClock(Source source) : source_(std::move(source)) {}

std::string NameClock::next(std::string_view uniquifier) {
  if (!is_safe_uniquifier(uniquifier)) {
    throw std::invalid_argument("entry name uniquifier \"" + std::string(uniquifier) +
                                "\" is not [A-Za-z0-9_-]{1,100}");
  }
  const std::int64_t now = source_();
  std::uint64_t stamp = 0;
  {
    std::lock_guard lock(mutex_);
    // max(now, last + 1): a clock stepping back must not let a later entry sort first.
    const std::uint64_t wall = now > 0 ? static_cast<std::uint64_t>(now) : 0;
    stamp = std::max(wall, last_ + 1);
    last_ = stamp;
  }
  char digits[kTimestampDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(stamp));
  std::string name;
  name.reserve(kTimestampDigits + 1 + uniquifier.size() + kSuffix.size());
  name.append(digits, kTimestampDigits).append("-").append(uniquifier).append(kSuffix);
  return name;
}

std::uint64_t NameClock::last() const {
  std::lock_guard lock(mutex_);
  return last_;
}

}  // namespace queue_layout
