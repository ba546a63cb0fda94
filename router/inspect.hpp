// inspect.hpp: reading one inbox entry and saying what it is, before anything is decided.
//
// inspect() reads `inbox/name` with queue_layout::read_entry (never follows a symbolic link,
// never blocks on a FIFO, bounded size), parses it with common::parse_entry and, for a push,
// common::parse_push. The answer is one of:
//   Gone     the file disappeared (someone removed it): nothing to do;
//   Waiting  it does not parse (or lacks what a push needs) but is still young: a hand-dropped
//            file may still be being written, so it is read again at `until` or on the next
//            change; also used for transient read errors (out of descriptors);
//   Bad      it never will be usable: not a regular file, unreadable, too large (at once: these
//            never settle), or still unparsable once settled. `reason` is the sentence for
//            <name>.reason; `delivery` is set when the text still names a valid delivery id, so
//            the rejection can be recorded in the ledger;
//   Good     a parsed entry (and its push, for a push event).
// Reading changes nothing on disk; the only state is the SettleTracker's memory of mtimes.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>

#include "common/entry.hpp"
#include "router/settle.hpp"

namespace router {

struct Gone {};

struct Waiting {
  std::chrono::steady_clock::time_point until;
  std::string problem;  // why it is not usable yet (for the log and, later, the reason file)
};

struct Bad {
  std::string reason;
  /// The entry's envelope fields when they could still be read from the text (event may be
  /// empty; id absent when the text names no valid delivery id).
  common::EntryMeta meta;
};

struct Good {
  common::Entry entry;
  std::optional<common::Push> push;  // set for event "push"
};

using Inspection = std::variant<Gone, Waiting, Bad, Good>;

/// Reads and classifies `inbox/name` (see the file comment). Files larger than `max_bytes` are
/// Bad. Never throws for anything about the file.
Inspection inspect(const std::filesystem::path& inbox, const std::string& name,
                   std::size_t max_bytes, SettleTracker& settle);

/// The envelope fields (id, hook_id, event, received_at) that are present and valid in `text`,
/// even when the entry as a whole is not: a rejection is then still recorded under its delivery.
common::EntryMeta salvage_meta(std::string_view text);

}  // namespace router
