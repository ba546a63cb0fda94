// address.hpp: who is calling? The client address behind trusted proxies (X-Forwarded-For).
//
// The receiver may restrict POST /github-webhook to source ranges (receiver.allow_cidrs, e.g.
// GitHub's `hooks` ranges from https://api.github.com/meta). Behind nginx the TCP peer is nginx
// itself, so the client is read from X-Forwarded-For, but only when the peer is one of
// receiver.trusted_proxies (anyone else who sends the header wrote it themselves), and only as
// far as the proxies go: each proxy appends the address it saw, so the rightmost address that
// is not a trusted proxy is the client; anything further left is the client's own claim.
//
// Addresses and ranges are common::IpAddress / common::Cidr (common/cidr.hpp), the same parser
// that validated the configuration. Pure functions over strings; nothing here logs or throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "common/result.hpp"

namespace receiver {

/// Parses one address as found in X-Forwarded-For or a socket: "192.0.2.1", "2001:db8::1",
/// "[2001:db8::1]"; surrounding spaces are ignored; ports and zone ids are refused.
std::optional<common::IpAddress> parse_client_ip(std::string_view text);

/// The client address to check, from the TCP peer and the X-Forwarded-For header (several
/// instances joined with ","). When the peer is not in `trusted`, the peer (the header is
/// ignored). Otherwise the rightmost X-Forwarded-For address not in `trusted` (the leftmost when
/// all are); the error names the header when it is missing or an address in it does not parse.
common::Result<common::IpAddress> client_address(std::string_view peer,
                                                 std::optional<std::string_view> forwarded_for,
                                                 const std::vector<common::Cidr>& trusted);

/// True when `address` lies in one of `ranges`.
bool in_any(const common::IpAddress& address, const std::vector<common::Cidr>& ranges);

/// True when `ranges` is empty (no allowlist) or `address` lies in one of them.
bool allowed(const common::IpAddress& address, const std::vector<common::Cidr>& ranges);

/// "192.0.2.1" or "2001:db8::1" (IPv4-mapped addresses shown as IPv4), for log lines.
std::string to_string(const common::IpAddress& address);

}  // namespace receiver
