// address.cpp: the client address behind trusted proxies (see address.hpp).
#include "receiver/address.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace receiver {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<common::IpAddress> parse_client_ip(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  return common::parse_ip(text);
}

common::Result<common::IpAddress> client_address(std::string_view peer,
                                                 std::optional<std::string_view> forwarded_for,
                                                 unsigned hops) {
  if (hops == 0) {
    auto address = parse_client_ip(peer);
    if (!address) return common::Error{"the peer address \"" + std::string(peer) + "\" is invalid"};
    return *address;
  }
  if (!forwarded_for) {
    return common::Error{"X-Forwarded-For is missing (receiver.trusted_proxy_hops is " +
                         std::to_string(hops) + ")"};
  }
  // Walk from the right: the last `hops` entries were appended by our own proxies.
  std::string_view rest = *forwarded_for;
  for (unsigned place = 1;; ++place) {
    auto comma = rest.rfind(',');
    auto item = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    if (place == hops) {
      auto address = parse_client_ip(item);
      if (!address) {
        return common::Error{"X-Forwarded-For: entry " + std::to_string(hops) +
                             " from the right is not an IP address"};
      }
      return *address;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(0, comma);
  }
  return common::Error{"X-Forwarded-For has fewer than " + std::to_string(hops) +
                       " addresses (receiver.trusted_proxy_hops)"};
}

bool allowed(const common::IpAddress& address, const std::vector<common::Cidr>& ranges) {
  if (ranges.empty()) return true;
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const common::Cidr& range) { return range.contains(address); });
}

std::string to_string(const common::IpAddress& address) {
  const auto plain = address.unmapped();
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(plain.v6 ? AF_INET6 : AF_INET, plain.bytes.data(), buffer, sizeof buffer);
  return buffer;
}

}  // namespace receiver
