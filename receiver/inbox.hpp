// inbox.hpp: durable hand-over of accepted deliveries to the router, through inbox/.
//
// InboxWriter names each entry with a queue_layout::NameClock (`<epoch ns>-<delivery id>.json`,
// never lower than the previous name, so per-connection send order is byte order) and writes it
// with queue_layout::publish: temporary dot-file, write, fsync, close, rename without replacing,
// fsync of the folder.
//
// Contract: when publish() returns without error, the entry is durable in inbox/ under the
// returned name, and only then may the 202 be sent. On error nothing is visible under a
// canonical name (publish removes its temporary) and the caller answers 503. A crash at any
// moment leaves at most a dot-temporary, removed by recover() at the next start.
//
// Thread-safe: the session hands publish() to a small thread pool so that concurrent requests
// overlap their fsyncs; the blocking disk work never runs on the event loop.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "queue-layout/fs.hpp"
#include "queue-layout/name.hpp"

namespace receiver {

class InboxWriter {
 public:
  struct Outcome {
    std::error_code error;  ///< empty on success
    std::string name;       ///< the entry's file name on success
  };

  /// `clock` defaults to the system clock; `fs` is the fault seam for tests.
  explicit InboxWriter(std::filesystem::path inbox,
                       queue_layout::FileSystem& fs = queue_layout::real_fs(),
                       queue_layout::NameClock::Source clock = {});

  const std::filesystem::path& inbox() const { return inbox_; }

  /// Creates inbox/ (and the state directory) if missing, mode 0700, durable; then removes the
  /// temporaries a crashed earlier receiver left behind. Call once at startup, before any
  /// publish(). Returns the first error (the caller names the folder).
  std::error_code prepare();

  /// Publishes `entry` under a fresh name with `delivery` (already validated) as uniquifier.
  /// Never throws: every failure, including an unexpected exception, comes back as an error.
  Outcome publish(std::string_view delivery, std::string_view entry) noexcept;

 private:
  std::filesystem::path inbox_;
  queue_layout::FileSystem& fs_;
  queue_layout::NameClock clock_;
};

}  // namespace receiver
