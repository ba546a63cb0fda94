// watch.hpp: waking a consumer when its queue folder may have changed (inotify + a slow timer).
//
// inotify is a hint; the sorted scan (scan.hpp) is the truth. The consumer loop is
//     Watcher watcher(executor, dir);          // the watch is added here: first...
//     for (;;) { scan and process everything;  // ...the scan second, so nothing slips between
//                co_await watcher.wait(); }
// wait() completes when something may have changed since the previous wait completed: an event
// for a visible name arrived (dot-temporaries of publishers in progress are skipped), the kernel's
// event queue overflowed (IN_Q_OVERFLOW), the watch had to be re-added because the folder was
// deleted, moved or replaced and is back, or the timeout elapsed (the safety-net rescan). Events
// that arrive while the consumer is busy stay queued in the kernel and make the next wait
// complete at once: none is lost. While the folder is missing, or inotify is unavailable (e.g.
// the per-user instance limit), wait() falls back to polling every second at most.
//
// A Watcher is used from one thread (its executor's); not thread-safe.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <system_error>

namespace queue_layout {

/// What a buffer of inotify events says (parsed outside any coroutine: g++ 12 rejects the
/// flexible-array struct inotify_event in coroutine bodies).
struct EventSummary {
  bool changed = false;     // an event for a visible name, or for the folder itself
  bool overflow = false;    // IN_Q_OVERFLOW: events were dropped, rescan everything
  bool watch_gone = false;  // the folder was deleted, moved or unmounted: re-add the watch
};
/// Parses `size` bytes read from an inotify descriptor; only events of watch `wd` count (plus
/// overflow, which has none).
EventSummary parse_events(const char* buffer, std::size_t size, int wd);

class Watcher {
 public:
  /// Adds the watch on `dir` at once (see the loop above). Does not throw for a missing folder or
  /// an inotify failure: the watcher then polls (last_error() says why) and re-adds the watch as
  /// soon as it can.
  Watcher(boost::asio::any_io_executor executor, std::filesystem::path dir,
          std::chrono::milliseconds rescan_every = std::chrono::seconds(30));
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher();

  /// Completes when the folder may have changed, after at most the rescan interval.
  boost::asio::awaitable<void> wait();
  /// The same with a bound of `max`.
  boost::asio::awaitable<void> wait(std::chrono::milliseconds max);

  /// Makes a pending wait, and every later one, throw boost::system::system_error with
  /// operation_aborted (shutdown on SIGTERM). Call it on the watcher's executor.
  void cancel();

  const std::filesystem::path& dir() const { return dir_; }
  /// Whether the inotify watch is in place right now.
  bool watching() const { return wd_ >= 0; }
  /// Why the watch is not in place (empty while it is).
  std::error_code last_error() const { return error_; }

 private:
  void add_watch();
  /// Reads every queued event; notes changes, overflows and a lost watch.
  void drain();
  /// Re-adds the watch if the folder at dir_ is no longer the inode being watched.
  void check_replaced();

  std::filesystem::path dir_;
  std::chrono::milliseconds rescan_every_;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer timer_;
  int wd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool dirty_ = false;
  bool cancelled_ = false;
  std::error_code error_;
};

}  // namespace queue_layout
