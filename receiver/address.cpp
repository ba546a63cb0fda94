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
                                                 const std::vector<common::Cidr>& trusted) {
  auto address = parse_client_ip(peer);
  if (!address) return common::Error{"the peer address \"" + std::string(peer) + "\" is invalid"};
  // A peer that is not one of our proxies wrote X-Forwarded-For itself: never read it.
  if (trusted.empty() || !in_any(*address, trusted)) return *address;
  if (!forwarded_for) {
    return common::Error{"X-Forwarded-For is missing from trusted proxy " + to_string(*address)};
  }
  // Walk from the right: each trusted proxy appended the address it saw, so the first address
  // that is not a trusted proxy is the client; anything left of it is the client's own claim.
  std::string_view rest = *forwarded_for;
  while (true) {
    const auto comma = rest.rfind(',');
    const auto item = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    auto hop = parse_client_ip(item);
    if (!hop) {
      return common::Error{"X-Forwarded-For: \"" + std::string(trim(item)) +
                           "\" is not an IP address"};
    }
    address = hop;
    if (!in_any(*address, trusted) || comma == std::string_view::npos) return *address;
    rest = rest.substr(0, comma);
  }
}

bool in_any(const common::IpAddress& address, const std::vector<common::Cidr>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const common::Cidr& range) { return range.contains(address); });
}

bool allowed(const common::IpAddress& address, const std::vector<common::Cidr>& ranges) {
  return ranges.empty() || in_any(address, ranges);
}

std::string to_string(const common::IpAddress& address) {
  const auto plain = address.unmapped();
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(plain.v6 ? AF_INET6 : AF_INET, plain.bytes.data(), buffer, sizeof buffer);
  return buffer;
}

}  // namespace receiver
