// inbox.cpp: naming and publishing entries into inbox/ (see inbox.hpp).
#include "receiver/inbox.hpp"

#include <new>

#include "queue-layout/layout.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/recover.hpp"

namespace receiver {
namespace {

// A name can only collide with a file that did not come from this clock (an operator's file, a
// receiver on another machine sharing the folder, a clock far in the future before a restart):
// the next name from the clock is later, so a few attempts always get past it.
constexpr int kAttempts = 3;

}  // namespace

InboxWriter::InboxWriter(std::filesystem::path inbox, queue_layout::FileSystem& fs,
                         queue_layout::NameClock::Source clock)
    : inbox_(std::move(inbox)),
      fs_(fs),
      clock_(clock ? queue_layout::NameClock(std::move(clock)) : queue_layout::NameClock()) {}

std::error_code InboxWriter::prepare() {
  // ensure_dir fsyncs the parent of every folder it creates, so inbox/ itself survives a crash
  // before the first entry in it is acknowledged.
  if (auto ec = queue_layout::ensure_dir(inbox_, fs_)) return ec;
  queue_layout::remove_stale_temporaries(inbox_, fs_);
  return {};
}

InboxWriter::Outcome InboxWriter::publish(std::string_view delivery,
                                          std::string_view entry) noexcept {
  try {
    Outcome outcome;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      outcome.name = clock_.next(delivery);
      // Durable when 0 comes back: the 202 may be sent. EEXIST never replaces anything.
      outcome.error = queue_layout::publish(inbox_, outcome.name, entry, fs_);
      if (outcome.error != std::errc::file_exists) break;
    }
    if (outcome.error) outcome.name.clear();
    return outcome;
  } catch (const std::bad_alloc&) {
    return {std::make_error_code(std::errc::not_enough_memory), {}};
  } catch (...) {
    // NameClock::next throws only for an unsafe uniquifier, which the handler has ruled out.
    return {std::make_error_code(std::errc::invalid_argument), {}};
  }
}

}  // namespace receiver
