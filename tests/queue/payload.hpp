// payload.hpp: self-checking entry contents shared by the test publisher and the tests.
//
// The bytes of an entry are a function of its name and size, so a reader can tell a complete
// entry from a truncated or mixed-up one without any other record.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace queue_test {

inline std::string payload_for(std::string_view name, std::size_t size) {
  std::string out = "{\"name\":\"" + std::string(name) + "\",\"pad\":\"";
  std::size_t seed = std::hash<std::string_view>{}(name);
  const std::string tail = "\"}\n";
  while (out.size() + tail.size() < size) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    out += static_cast<char>('a' + (seed >> 59) % 26);
  }
  return out + tail;
}

/// The number after the last '-' of an entry name's uniquifier ("...-<tag>-<n>.json").
inline long sequence_of(std::string_view name) {
  const auto dot = name.rfind(".json");
  const auto dash = name.rfind('-', dot);
  return std::stol(std::string(name.substr(dash + 1, dot - dash - 1)));
}

}  // namespace queue_test
