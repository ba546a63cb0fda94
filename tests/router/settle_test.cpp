// Unit tests of the router's small pure helpers: SettleTracker, common::Backoff,
// parse_utc_timestamp.
#include <catch2/catch.hpp>

#include "common/backoff.hpp"
#include "common/timefmt.hpp"
#include "router/settle.hpp"
#include "router/timestamp.hpp"

using namespace std::chrono_literals;
using router::SettleTracker;

TEST_CASE("a file settles settle_ms after its last modification") {
  SettleTracker settle(2000ms);
  const auto wall = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  // Modified 500 ms ago: settled 1.5 s from now.
  CHECK(settle.settled_at("a", wall - 500ms, wall, steady) == steady + 1500ms);
  // Old files (found at startup) are settled at once.
  CHECK(settle.settled_at("b", wall - 1h, wall, steady) <= steady);
  // Modified again: the clock starts over.
  CHECK(settle.settled_at("a", wall + 1s, wall + 1s, steady + 1s) == steady + 3s);
}

TEST_CASE("a file dated in the future still settles once it stops changing") {
  SettleTracker settle(2000ms);
  const auto wall = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  const auto future = wall + 24h;
  CHECK(settle.settled_at("f", future, wall, steady) == steady + 2s);
  CHECK(settle.settled_at("f", future, wall + 2s, steady + 2s) == steady + 2s);
}

TEST_CASE("forget and keep_only drop what the tracker knows") {
  SettleTracker settle(1000ms);
  const auto wall = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  settle.settled_at("a", wall + 1h, wall, steady);
  settle.settled_at("b", wall + 1h, wall, steady);
  CHECK_FALSE(settle.empty());
  settle.keep_only({"a"});
  settle.forget("a");
  CHECK(settle.empty());
  // Forgotten: a later observation starts a new settle period.
  CHECK(settle.settled_at("a", wall + 1h, wall, steady + 5s) == steady + 6s);
}

TEST_CASE("backoff doubles from 100 ms up to 5 s and starts over after a success") {
  common::Backoff backoff(100ms, 5s);
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 9; ++i) delays.push_back(backoff.next());
  CHECK(delays == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms,
                                                         5000ms, 5000ms, 5000ms});
  backoff.reset();
  CHECK(backoff.next() == 100ms);
  // A first delay above the cap is the cap.
  common::Backoff capped(10s, 1s);
  CHECK(capped.next() == 1s);
  CHECK(capped.next() == 1s);
}

TEST_CASE("received_at timestamps read back exactly") {
  const auto now = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::system_clock::now());
  CHECK(router::parse_utc_timestamp(common::utc_timestamp_ns(now)) == now);
  CHECK(router::parse_utc_timestamp("1970-01-01T00:00:01Z") ==
        std::chrono::system_clock::time_point(1s));
  CHECK(router::parse_utc_timestamp("2026-11-23T04:05:06.5Z") ==
        std::chrono::system_clock::time_point(
            std::chrono::sys_days{std::chrono::year{2026} / 11 / 23} + 4h + 5min + 6s + 500ms));
  CHECK_FALSE(router::parse_utc_timestamp("2026-02-30T00:00:00Z"));
  CHECK_FALSE(router::parse_utc_timestamp("2026-11-23 04:05:06Z"));
  CHECK_FALSE(router::parse_utc_timestamp("2026-11-23T04:05:06"));
  CHECK_FALSE(router::parse_utc_timestamp("2026-11-23T04:05:06.Z"));
  CHECK_FALSE(router::parse_utc_timestamp("2026-11-23T04:05:06.1234567890Z"));
}
