// timestamp.cpp: see timestamp.hpp.
#include "router/timestamp.hpp"

namespace router {
namespace {

// Reads `count` digits at `pos` into `out`; false if any is not a digit.
bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_utc_timestamp(std::string_view text) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || !digits(text, 0, 4, y) || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d) || text[10] != 'T' || !digits(text, 11, 2, h) ||
      text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' || !digits(text, 17, 2, s) ||
      text.back() != 'Z') {
    return std::nullopt;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  nanoseconds fraction{0};
  std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) return std::nullopt;
    long long ns = 0;
    for (std::size_t i = 1; i < 10; ++i) {
      int digit = 0;
      if (i < rest.size()) {
        if (rest[i] < '0' || rest[i] > '9') return std::nullopt;
        digit = rest[i] - '0';
      }
      ns = ns * 10 + digit;
    }
    fraction = nanoseconds{ns};
  }
  const auto time = sys_days{date} + hours{h} + minutes{mi} + seconds{s} + fraction;
  return time_point_cast<system_clock::duration>(time);
}

}  // namespace router
