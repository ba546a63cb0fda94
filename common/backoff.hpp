// backoff.hpp: capped exponential back-off, the one waiting rule for everything that retries
// (the router and the deployer waiting out an unavailable ledger, the deployer insisting on a
// move while the disk is full, commit statuses re-posted after a server error).
//
// The first failure waits `first`, each further one twice as long, never more than `cap`: a
// restored service is noticed within `cap`, and a long outage costs one attempt every `cap`, not
// a busy loop. Pure arithmetic, no clock: the caller sleeps (and can be stopped meanwhile).
#pragma once

#include <algorithm>
#include <chrono>

namespace common {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap)
      : first_(first), cap_(cap), next_(std::min(first, cap)) {}

  /// The delay to wait after one more failure.
  std::chrono::milliseconds next() {
    const auto delay = next_;
    next_ = std::min(next_ * 2, cap_);
    return delay;
  }

  /// Called after a success: the next failure waits `first` again.
  void reset() { next_ = std::min(first_, cap_); }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds cap_;
  std::chrono::milliseconds next_;
};

}  // namespace common
