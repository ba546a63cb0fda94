// cidr.cpp: inet_pton-based parsing and prefix matching.
#include "common/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace common {

IpAddress IpAddress::unmapped() const {
  static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!v6 || std::memcmp(bytes.data(), mapped_prefix, sizeof mapped_prefix) != 0) return *this;
  IpAddress v4;
  std::memcpy(v4.bytes.data(), bytes.data() + 12, 4);
  return v4;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;  // INET6_ADDRSTRLEN - 1
  const std::string copy(text);  // inet_pton needs a NUL-terminated string
  if (copy.find('\0') != std::string::npos) return std::nullopt;
  IpAddress address;
  if (copy.find(':') != std::string::npos) {
    address.v6 = true;
    if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) != 1) return std::nullopt;
  } else if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) != 1) {
    return std::nullopt;
  }
  return address;
}

bool Cidr::contains(const IpAddress& candidate) const {
  const IpAddress address = candidate.unmapped();
  if (address.v6 != network.v6) return false;
  const unsigned whole = prefix / 8;
  if (std::memcmp(address.bytes.data(), network.bytes.data(), whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address.bytes[whole] & mask) == (network.bytes[whole] & mask);
}

Result<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const auto address_text = text.substr(0, slash);
  auto address = parse_ip(address_text);
  if (!address) return Error{"is not an IPv4 or IPv6 address or CIDR network"};
  Cidr cidr{*address, address->v6 ? 128u : 32u, std::string(text)};
  const unsigned bits = cidr.network.v6 ? 128 : 32;
  if (slash != std::string_view::npos) {
    const auto prefix_text = text.substr(slash + 1);
    unsigned prefix = 0;
    const auto [end, ec] =
        std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
    if (prefix_text.empty() || prefix_text.size() > 3 || ec != std::errc{} ||
        end != prefix_text.data() + prefix_text.size() || prefix > bits) {
      return Error{"has an invalid prefix length (0-" + std::to_string(bits) + ")"};
    }
    cidr.prefix = prefix;
  }
  for (unsigned bit = cidr.prefix; bit < bits; ++bit) {
    if (cidr.network.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return Error{"has address bits set beyond its /" + std::to_string(cidr.prefix) + " prefix"};
    }
  }
  // contains() unmaps IPv4-mapped peers, so an IPv4-mapped network must be stored as IPv4 too
  // or it would never match anything.
  const IpAddress plain = cidr.network.unmapped();
  if (cidr.network.v6 && !plain.v6 && cidr.prefix >= 96) {
    cidr.network = plain;
    cidr.prefix -= 96;
  }
  return cidr;
}

}  // namespace common
