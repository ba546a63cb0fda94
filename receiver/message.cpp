// message.cpp: header look-ups on a plain Request (see message.hpp).
#include "receiver/message.hpp"

namespace receiver {

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.name == lower_name) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::size_t Request::count(std::string_view lower_name) const {
  std::size_t n = 0;
  for (const auto& h : headers) n += h.name == lower_name ? 1 : 0;
  return n;
}

std::optional<std::string> Request::joined(std::string_view lower_name) const {
  std::optional<std::string> out;
  for (const auto& h : headers) {
    if (h.name != lower_name) continue;
    if (out) {
      *out += ", ";
      *out += h.value;
    } else {
      out = h.value;
    }
  }
  return out;
}

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

}  // namespace receiver
