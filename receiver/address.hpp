// address.hpp: who is calling? The client address behind trusted proxies (X-Forwarded-For).
//
// The receiver may restrict POST /github-webhook to source ranges (receiver.allow_cidrs, e.g.
// GitHub's `hooks` ranges from https://api.github.com/meta). Behind nginx the TCP peer is nginx
// itself, so the client is read from X-Forwarded-For, but only as far as the configured number
// of trusted proxies: each proxy appends the address it saw, so the entry `hops` places from the
// right was written by our own outermost proxy and cannot be forged by the client; anything
// further left can. With 0 hops the header is ignored entirely and the peer is the client.
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
/// instances joined with ","). With hops == 0 this is the peer. With hops == N it is the N-th
/// address counting from the right of X-Forwarded-For; the error names the header when it is
/// missing, has fewer than N addresses, or the one at that place does not parse.
common::Result<common::IpAddress> client_address(std::string_view peer,
                                                 std::optional<std::string_view> forwarded_for,
                                                 unsigned hops);

/// True when `ranges` is empty (no allowlist) or `address` lies in one of them.
bool allowed(const common::IpAddress& address, const std::vector<common::Cidr>& ranges);

/// "192.0.2.1" or "2001:db8::1" (IPv4-mapped addresses shown as IPv4), for log lines.
std::string to_string(const common::IpAddress& address);

}  // namespace receiver
