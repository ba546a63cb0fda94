// timefmt.cpp: calendar arithmetic with C++20 <chrono> (year_month_day, hh_mm_ss).
#include "common/timefmt.hpp"

#include <cstdio>

namespace common {
namespace {

// digits: how many fraction digits to print (9 = nanoseconds, 3 = milliseconds).
std::string format(std::chrono::system_clock::time_point time, int digits) {
  using namespace std::chrono;
  const auto ns = time_point_cast<nanoseconds>(time);
  const auto day = floor<days>(ns);
  const year_month_day date{day};
  const hh_mm_ss clock{ns - day};
  long long fraction = clock.subseconds().count();  // 0..999'999'999
  for (int i = digits; i < 9; ++i) fraction /= 10;
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02lld.%0*lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<long long>(clock.seconds().count()), digits, fraction);
  return text;
}

}  // namespace

std::string utc_timestamp_ns(std::chrono::system_clock::time_point time) {
  return format(time, 9);
}

std::string utc_timestamp_ms(std::chrono::system_clock::time_point time) {
  return format(time, 3);
}

}  // namespace common
