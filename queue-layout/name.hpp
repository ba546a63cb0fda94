// name.hpp: entry names, `<epoch ns, 20 digits>-<uniquifier>.json`, and the clock that issues them.
//
// Byte order of entry names is arrival order: the timestamp is zero-padded to 20 digits (the
// largest 64-bit nanosecond count has 20), and a NameClock never issues a timestamp lower than or
// equal to its previous one, even when the system clock steps back (NTP, a VM restore), so a later
// entry can never sort before an earlier one from the same producer. Names are pure strings here:
// nothing in this file touches the disk.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace queue_layout {

/// ^[0-9]{20}-[A-Za-z0-9_-]{1,100}\.json$ : the only names readers take from a queue folder.
bool is_entry_name(std::string_view name);

/// [A-Za-z0-9_-]{1,100}: what may stand between the timestamp and ".json" (a delivery id, a pid).
bool is_safe_uniquifier(std::string_view uniquifier);

/// The timestamp part of an entry name (nanoseconds since the epoch); 0 when `name` is not an
/// entry name.
std::uint64_t entry_timestamp(std::string_view name);

/// The sidecar files that travel with an entry `name` (the full name, ".json" included):
/// "<name>.reason" (why it was quarantined) and "<name>.error.json" (why its deploy failed).
/// Scans ignore both; retention removes them with their entry.
std::string reason_name(std::string_view name);
std::string error_name(std::string_view name);

/// "<pid>-<counter>": a uniquifier for producers that have no delivery id. Unique within this
/// process; across processes the pid differs, across restarts the timestamp does.
std::string process_uniquifier();

/// Issues strictly increasing entry names. Thread-safe.
class NameClock {
 public:
  /// Nanoseconds since the Unix epoch. Injectable so tests can step the clock backwards.
  using Source = std::function<std::int64_t()>;

  /// Uses std::chrono::system_clock.
  NameClock();
  explicit NameClock(Source source);

  /// The next name, `<max(now, last + 1) as 20 digits>-<uniquifier>.json`.
  /// Throws std::invalid_argument when !is_safe_uniquifier(uniquifier): callers validate
  /// untrusted ids first, so an unsafe one here is a programming error.
  std::string next(std::string_view uniquifier);

  /// The timestamp of the last issued name (0 before the first).
  std::uint64_t last() const;

 private:
  Source source_;
  mutable std::mutex mutex_;
  std::uint64_t last_ = 0;
};

}  // namespace queue_layout
