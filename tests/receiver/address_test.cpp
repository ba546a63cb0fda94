// Unit tests of receiver/address: client address behind trusted proxies, and the allowlist.
#include <catch2/catch.hpp>

#include "receiver/address.hpp"

using receiver::allowed;
using receiver::client_address;

namespace {

common::Cidr cidr(const char* text) {
  return common::parse_cidr(text).value();
}

std::string client(std::string_view peer, std::optional<std::string_view> xff, unsigned hops) {
  auto r = client_address(peer, xff, hops);
  return r.ok() ? receiver::to_string(*r) : "error: " + r.error().message;
}

}  // namespace

TEST_CASE("with 0 trusted hops the peer is the client and X-Forwarded-For is ignored") {
  CHECK(client("127.0.0.1", std::nullopt, 0) == "127.0.0.1");
  CHECK(client("127.0.0.1", "10.1.2.3", 0) == "127.0.0.1");
  CHECK(client("::ffff:192.0.2.7", "10.1.2.3", 0) == "192.0.2.7");
}

TEST_CASE("trusted hops pick the address that many places from the right") {
  CHECK(client("127.0.0.1", "10.1.2.3", 1) == "10.1.2.3");
  // A client-supplied entry on the left cannot override what our proxy appended.
  CHECK(client("127.0.0.1", "192.30.252.1, 10.1.2.3", 1) == "10.1.2.3");
  CHECK(client("127.0.0.1", "192.30.252.1,10.1.2.3", 2) == "192.30.252.1");
  CHECK(client("127.0.0.1", " [2001:db8::1] , 10.0.0.1", 2) == "2001:db8::1");
}

TEST_CASE("a missing, short or garbled X-Forwarded-For is an error naming the header") {
  CHECK_THAT(client("127.0.0.1", std::nullopt, 1), Catch::Contains("X-Forwarded-For is missing"));
  CHECK_THAT(client("127.0.0.1", "10.1.2.3", 2), Catch::Contains("fewer than 2"));
  CHECK_THAT(client("127.0.0.1", "10.1.2.3, evil", 1), Catch::Contains("X-Forwarded-For"));
  CHECK_THAT(client("127.0.0.1", "10.1.2.3:443", 1), Catch::Contains("not an IP address"));
  CHECK_THAT(client("127.0.0.1", "", 1), Catch::Contains("not an IP address"));
  CHECK_THAT(client("nonsense", std::nullopt, 0), Catch::Contains("peer address"));
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
