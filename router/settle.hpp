// settle.hpp: when an inbox file that does not parse yet counts as finished.
//
// A file copied in by hand (`cp`, an editor, `mv` across file systems) can be read while it is
// still being written, so a file that does not parse is not rejected at once: it is given
// router.settle_ms to stop changing. It counts as settled when its modification time is at least
// settle_ms in the past, or when the router has seen the same modification time for settle_ms
// (so a file dated in the future, e.g. by `touch -d` or a skewed clock, cannot block the inbox
// forever). Pure bookkeeping: the caller passes the times in.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>

namespace router {

class SettleTracker {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  explicit SettleTracker(std::chrono::milliseconds settle) : settle_(settle) {}

  /// Records that `name` was seen with modification time `mtime` (wall clock `now`, monotonic
  /// clock `steady_now`); returns the monotonic time from which it counts as settled
  /// (<= steady_now: settled now).
  SteadyTime settled_at(const std::string& name, WallTime mtime, WallTime now,
                        SteadyTime steady_now);

  /// Drops what is known about `name` (it was handled or is gone).
  void forget(const std::string& name) { seen_.erase(name); }

  /// Drops every name not in `present` (files removed behind the router's back).
  void keep_only(const std::set<std::string>& present);

  bool empty() const { return seen_.empty(); }

 private:
  struct Seen {
    WallTime mtime;
    SteadyTime since;  // when this mtime was first seen
  };
  std::chrono::milliseconds settle_;
  std::map<std::string, Seen> seen_;
};

}  // namespace router
