// Entry names: syntax, 20-digit padding, strictly increasing timestamps despite clock steps back.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "queue-layout/name.hpp"

using queue_layout::is_entry_name;
using queue_layout::is_safe_uniquifier;
using queue_layout::NameClock;

TEST_CASE("entry names are 20 digits, a dash, a safe uniquifier and .json") {
  CHECK(is_entry_name("00000000000000000001-a.json"));
  CHECK(is_entry_name("17000000000000000000-72d3162e-cc78-11e3-81ab-4c9367dc0958.json"));
  CHECK(is_entry_name("00000000000000000001-" + std::string(100, 'x') + ".json"));
  CHECK_FALSE(is_entry_name("00000000000000000001-" + std::string(101, 'x') + ".json"));
  CHECK_FALSE(is_entry_name("0000000000000000001-a.json"));    // 19 digits
  CHECK_FALSE(is_entry_name("000000000000000000001-a.json"));  // 21 digits
  CHECK_FALSE(is_entry_name("00000000000000000001-.json"));    // empty uniquifier
  CHECK_FALSE(is_entry_name("00000000000000000001_a.json"));   // no dash
  CHECK_FALSE(is_entry_name("00000000000000000001-a.json.tmp"));
  CHECK_FALSE(is_entry_name(".00000000000000000001-a.json"));
  CHECK_FALSE(is_entry_name("00000000000000000001-a.b.json"));  // dot in the uniquifier
  CHECK_FALSE(is_entry_name("00000000000000000001-a/b.json"));
  CHECK_FALSE(is_entry_name("0000000000000000000x-a.json"));
  CHECK_FALSE(is_entry_name("00000000000000000001-a.JSON"));
  CHECK_FALSE(is_entry_name(""));

  CHECK(is_safe_uniquifier("abc_DEF-123"));
  CHECK_FALSE(is_safe_uniquifier(""));
  CHECK_FALSE(is_safe_uniquifier("a b"));
  CHECK_FALSE(is_safe_uniquifier("../x"));
  CHECK_FALSE(is_safe_uniquifier(std::string("a\0b", 3)));
  CHECK_FALSE(is_safe_uniquifier("é"));
}

TEST_CASE("the clock pads to 20 digits and never goes back") {
  std::vector<std::int64_t> times = {1000, 2000, 1500, 1500, 0, -5, 99'000};
  std::size_t i = 0;
  NameClock clock([&] { return times.at(i++); });
  std::vector<std::string> names;
  for (std::size_t k = 0; k < times.size(); ++k) names.push_back(clock.next("u"));
  CHECK(names[0] == "00000000000000001000-u.json");
  CHECK(names[1] == "00000000000000002000-u.json");
  CHECK(names[2] == "00000000000000002001-u.json");  // stepped back: last + 1
  CHECK(names[3] == "00000000000000002002-u.json");
  CHECK(names[4] == "00000000000000002003-u.json");
  CHECK(names[5] == "00000000000000002004-u.json");
  CHECK(names[6] == "00000000000000099000-u.json");
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  for (const auto& n : names) CHECK(is_entry_name(n));
  CHECK(queue_layout::entry_timestamp(names[2]) == 2001);
  CHECK(clock.last() == 99'000);
}

TEST_CASE("the real clock issues names in byte order even when called back to back") {
  NameClock clock;
  std::vector<std::string> names;
  for (int k = 0; k < 1000; ++k) names.push_back(clock.next("same"));
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  // Today's time in ns is 19 digits: the padding keeps byte order = numeric order.
  CHECK(names.front().substr(0, 1) == "0");
}

TEST_CASE("the clock is strictly increasing across threads with a frozen time source") {
  NameClock clock([] { return std::int64_t{42}; });
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&clock, &out] {
      for (int k = 0; k < 1000; ++k) out.push_back(clock.next("t"));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& out : per_thread) {
    CHECK(std::is_sorted(out.begin(), out.end()));
    all.insert(out.begin(), out.end());
  }
  CHECK(all.size() == 4000);
  CHECK(*all.rbegin() == "00000000000000004041-t.json");
}

TEST_CASE("unsafe uniquifiers are refused and process uniquifiers are safe and distinct") {
  NameClock clock;
  CHECK_THROWS_AS(clock.next("../etc/passwd"), std::invalid_argument);
  CHECK_THROWS_AS(clock.next(""), std::invalid_argument);
  const auto a = queue_layout::process_uniquifier();
  const auto b = queue_layout::process_uniquifier();
  CHECK(a != b);
  CHECK(is_safe_uniquifier(a));
  CHECK(is_entry_name(clock.next(a)));
  CHECK(queue_layout::entry_timestamp("not-an-entry") == 0);
  CHECK(queue_layout::entry_timestamp("99999999999999999999-x.json") == UINT64_MAX);
  CHECK(queue_layout::reason_name("x.json") == "x.json.reason");
  CHECK(queue_layout::error_name("x.json") == "x.json.error.json");
}
