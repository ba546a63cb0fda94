// UTC timestamps: exact digits, padding, and times before 1970.
#include <catch2/catch.hpp>

#include <chrono>

#include "common/timefmt.hpp"
#include "common/validate.hpp"

using namespace std::chrono;

TEST_CASE("timestamps have nanosecond and millisecond forms") {
  const system_clock::time_point t =
      sys_days{year{2026} / 11 / 23} + hours{4} + minutes{5} + seconds{6} + nanoseconds{123456789};
  CHECK(common::utc_timestamp_ns(t) == "2026-11-23T04:05:06.123456789Z");
  CHECK(common::utc_timestamp_ms(t) == "2026-11-23T04:05:06.123Z");
  CHECK(common::utc_timestamp_ns(system_clock::time_point{}) == "1970-01-01T00:00:00.000000000Z");
  const system_clock::time_point small = sys_days{year{2000} / 1 / 2} + nanoseconds{5};
  CHECK(common::utc_timestamp_ns(small) == "2000-01-02T00:00:00.000000005Z");
  CHECK(common::utc_timestamp_ms(small) == "2000-01-02T00:00:00.000Z");
}

TEST_CASE("timestamps before the epoch count forward within the second") {
  const system_clock::time_point t = system_clock::time_point{} - nanoseconds{1};
  CHECK(common::utc_timestamp_ns(t) == "1969-12-31T23:59:59.999999999Z");
}

TEST_CASE("timestamps of now pass the entry validator") {
  CHECK(common::valid_timestamp(common::utc_timestamp_ns(system_clock::now())));
  CHECK(common::valid_timestamp(common::utc_timestamp_ms(system_clock::now())));
}
