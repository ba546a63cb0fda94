// stop.hpp: a program's "please stop now" flag, shared by everything that may have to be
// interrupted on SIGTERM/SIGINT (a running step, a git fetch, a ledger back-off, a status post).
//
// Single-threaded by design: request() and every callback run on the io_context's one thread.
// A callback registered with on_stop() runs synchronously inside request() (or never, if it is
// unregistered first), so it may refer to the registrant's locals as long as the Registration
// outlives them being used: destroy the Registration before those locals go away.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

namespace common {

class StopSignal {
 public:
  /// Unregisters its callback when destroyed.
  class Registration {
   public:
    Registration(StopSignal& owner, std::uint64_t id) : owner_(&owner), id_(id) {}
    Registration(Registration&& other) noexcept : owner_(other.owner_), id_(other.id_) {
      other.owner_ = nullptr;
    }
    Registration& operator=(Registration&&) = delete;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() {
      if (owner_ != nullptr) owner_->callbacks_.erase(id_);
    }

   private:
    StopSignal* owner_;
    std::uint64_t id_;
  };

  bool requested() const { return requested_; }

  /// Sets the flag and runs every registered callback once. Later calls do nothing.
  void request() {
    if (requested_) return;
    requested_ = true;
    // Copy first: a callback may unregister itself or others while we iterate.
    auto callbacks = callbacks_;
    for (auto& [id, callback] : callbacks) {
      if (callbacks_.contains(id)) callback();
    }
  }

  /// Runs `callback` when stop is requested; at once (synchronously) if it already was.
  [[nodiscard]] Registration on_stop(std::function<void()> callback) {
    auto id = next_id_++;
    if (requested_) {
      callback();
    } else {
      callbacks_.emplace(id, std::move(callback));
    }
    return Registration(*this, id);
  }

 private:
  bool requested_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::function<void()>> callbacks_;
};

}  // namespace common
