// Unit tests of receiver/address: client address behind trusted proxies, and the allowlist.
#include <catch2/catch.hpp>

#include "receiver/address.hpp"

using receiver::allowed;
using receiver::client_address;

namespace {

common::Cidr cidr(const char* text) {
  return common::parse_cidr(text).value();
}

const std::vector<common::Cidr> kProxies = {common::parse_cidr("127.0.0.1").value(),
                                            common::parse_cidr("10.0.0.0/8").value()};

std::string client(std::string_view peer, std::optional<std::string_view> xff,
                   const std::vector<common::Cidr>& trusted = kProxies) {
  auto r = client_address(peer, xff, trusted);
  return r.ok() ? receiver::to_string(*r) : "error: " + r.error().message;
}

}  // namespace

TEST_CASE("a peer that is not a trusted proxy is the client; its X-Forwarded-For is ignored") {
  CHECK(client("127.0.0.1", std::nullopt, {}) == "127.0.0.1");
  CHECK(client("127.0.0.1", "192.30.252.1", {}) == "127.0.0.1");
  CHECK(client("127.0.0.2", "192.30.252.1") == "127.0.0.2");
  CHECK(client("::ffff:192.0.2.7", "192.30.252.1") == "192.0.2.7");
}

TEST_CASE("behind trusted proxies the client is the rightmost untrusted address") {
  CHECK(client("127.0.0.1", "192.30.252.1") == "192.30.252.1");
  // A client-supplied entry on the left cannot override what our proxy appended.
  CHECK(client("127.0.0.1", "192.30.252.1, 203.0.113.9") == "203.0.113.9");
  // Proxies of our own on the way are skipped.
  CHECK(client("127.0.0.1", "192.30.252.1,10.1.2.3") == "192.30.252.1");
  CHECK(client("::ffff:127.0.0.1", " [2001:db8::1] , 10.0.0.1") == "2001:db8::1");
  // Only proxies all the way: the leftmost one.
  CHECK(client("127.0.0.1", "10.9.9.9, 10.1.2.3") == "10.9.9.9");
}

TEST_CASE("a missing or garbled X-Forwarded-For from a proxy is an error naming the header") {
  CHECK_THAT(client("127.0.0.1", std::nullopt), Catch::Contains("X-Forwarded-For is missing"));
  CHECK_THAT(client("127.0.0.1", "10.1.2.3, evil"), Catch::Contains("X-Forwarded-For"));
  CHECK_THAT(client("127.0.0.1", "10.1.2.3:443"), Catch::Contains("not an IP address"));
  CHECK_THAT(client("127.0.0.1", ""), Catch::Contains("not an IP address"));
  CHECK_THAT(client("nonsense", std::nullopt), Catch::Contains("peer address"));
}

TEST_CASE("the allowlist matches IPv4, IPv4-mapped and IPv6 clients") {
  std::vector<common::Cidr> hooks = {cidr("192.30.252.0/22"), cidr("185.199.108.0/22"),
                                     cidr("140.82.112.0/20"), cidr("2a0a:a440::/29")};
  auto ip = [](const char* s) { return *receiver::parse_client_ip(s); };
  CHECK(allowed(ip("192.30.252.1"), hooks));
  CHECK(allowed(ip("::ffff:140.82.115.9"), hooks));
  CHECK(allowed(ip("2a0a:a440:1::5"), hooks));
  CHECK_FALSE(allowed(ip("192.30.251.255"), hooks));
  CHECK_FALSE(allowed(ip("127.0.0.1"), hooks));
  CHECK_FALSE(allowed(ip("2a0a:a448::1"), hooks));
  CHECK(allowed(ip("127.0.0.1"), {}));  // no allowlist: everyone
}
