// cidr.hpp: IPv4/IPv6 addresses and CIDR networks, for the receiver's "allow_cidrs".
//
// Parsing uses inet_pton (no name resolution, no locale). A network whose address has bits set
// beyond its prefix ("10.0.0.1/8") is refused rather than silently widened, so a typo cannot
// open the receiver to more peers than intended. An IPv4-mapped IPv6 peer (::ffff:1.2.3.4, what
// a dual-stack socket reports) matches IPv4 networks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  ///< IPv4 uses the first 4 bytes

  /// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become plain IPv4; others are unchanged.
  IpAddress unmapped() const;
};

/// "192.0.2.1" or "2001:db8::1"; nullopt for anything else (no brackets, no zone, no port).
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
  IpAddress network;
  unsigned prefix = 0;  ///< 0-32 for IPv4, 0-128 for IPv6
  std::string text;     ///< as written in the configuration

  bool contains(const IpAddress& address) const;
};

/// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
Result<Cidr> parse_cidr(std::string_view text);

}  // namespace common
