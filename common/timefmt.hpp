// timefmt.hpp: UTC timestamps in the one textual form the project writes (RFC 3339, "Z").
//
// Pure functions over std::chrono (no gmtime, no locale, no time zone database), safe from any
// thread. Times before 1970 are handled (the fraction is always the non-negative part).
#pragma once

#include <chrono>
#include <string>

namespace common {

/// "2026-11-23T04:05:06.123456789Z": nanosecond precision, as in an entry's "received_at".
std::string utc_timestamp_ns(std::chrono::system_clock::time_point time);

/// "2026-11-23T04:05:06.123Z": millisecond precision, as at the start of every log line.
std::string utc_timestamp_ms(std::chrono::system_clock::time_point time);

}  // namespace common
