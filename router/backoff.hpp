// backoff.hpp: capped exponential backoff for waiting out an unavailable ledger.
//
// The first failure waits `first`, each further one twice as long, never more than `cap`
// (100 ms doubling to 5 s by default: a restarted PostgreSQL is noticed within 5 s, and a long
// outage costs one connection attempt every 5 s, not a busy loop). Pure arithmetic, no clock.
#pragma once

#include <algorithm>
#include <chrono>

namespace router {

class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds first = std::chrono::milliseconds(100),
                   std::chrono::milliseconds cap = std::chrono::seconds(5))
      : first_(first), cap_(cap), next_(first) {}

  /// The delay to wait after one more failure.
  std::chrono::milliseconds next() {
    auto delay = next_;
    next_ = std::min(next_ * 2, cap_);
    failing_ = true;
    return delay;
  }

  /// Called after a success: the next failure waits `first` again.
  void reset() {
    next_ = first_;
    failing_ = false;
  }

  /// True between a failure and the next reset().
  bool failing() const { return failing_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds cap_;
  std::chrono::milliseconds next_;
  bool failing_ = false;
};

}  // namespace router
