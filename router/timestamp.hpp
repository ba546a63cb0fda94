// timestamp.hpp: reading back the UTC timestamps entries carry ("received_at").
//
// common/timefmt.hpp writes "2026-11-23T04:05:06.123456789Z"; the ledger wants a time_point.
// Pure; the text is expected to have passed common::valid_timestamp already.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace router {

/// "YYYY-MM-DDTHH:MM:SS[.fraction of 1-9 digits]Z" as a time point; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_utc_timestamp(std::string_view text);

}  // namespace router
