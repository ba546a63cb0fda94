// settle.cpp: see settle.hpp.
#include "router/settle.hpp"

#include <algorithm>

namespace router {

SettleTracker::SteadyTime SettleTracker::settled_at(const std::string& name, WallTime mtime,
                                                    WallTime now, SteadyTime steady_now) {
  auto [it, inserted] = seen_.try_emplace(name, Seen{mtime, steady_now});
  if (!inserted && it->second.mtime != mtime) it->second = Seen{mtime, steady_now};
  // Rule 1: the modification time is old enough (the usual case, and files found at startup).
  auto age = std::chrono::duration_cast<std::chrono::steady_clock::duration>(now - mtime);
  SteadyTime by_age = steady_now + (settle_ - age);
  // Rule 2: unchanged for settle_ms as observed here, whatever the file's date says.
  SteadyTime by_observation = it->second.since + settle_;
  return std::min(by_age, by_observation);
}

void SettleTracker::keep_only(const std::set<std::string>& present) {
  std::erase_if(seen_, [&](const auto& kv) { return !present.contains(kv.first); });
}

}  // namespace router
