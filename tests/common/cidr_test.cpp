// CIDR parsing and matching for the receiver's allow list.
#include <catch2/catch.hpp>

#include "common/cidr.hpp"

TEST_CASE("cidrs parse IPv4 and IPv6 networks") {
  auto v4 = common::parse_cidr("192.30.252.0/22");
  REQUIRE(v4.ok());
  CHECK(v4->contains(*common::parse_ip("192.30.252.1")));
  CHECK(v4->contains(*common::parse_ip("192.30.255.255")));
  CHECK_FALSE(v4->contains(*common::parse_ip("192.30.0.1")));
  CHECK(v4->contains(*common::parse_ip("::ffff:192.30.253.4")));
  CHECK_FALSE(v4->contains(*common::parse_ip("2001:db8::1")));

  auto v6 = common::parse_cidr("2001:db8::/32");
  REQUIRE(v6.ok());
  CHECK(v6->contains(*common::parse_ip("2001:db8:ffff::1")));
  CHECK_FALSE(v6->contains(*common::parse_ip("2001:db9::1")));
  CHECK_FALSE(v6->contains(*common::parse_ip("10.0.0.1")));

  auto host = common::parse_cidr("127.0.0.1");
  REQUIRE(host.ok());
  CHECK(host->prefix == 32);
  CHECK(common::parse_cidr("0.0.0.0/0")->contains(*common::parse_ip("8.8.8.8")));
  CHECK(common::parse_cidr("::ffff:10.0.0.0/104")->contains(*common::parse_ip("10.1.2.3")));
}

TEST_CASE("cidrs refuse malformed networks") {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                          "10.0.0.1/8", "::/129", "256.0.0.1", "10.0.0", "example.com", "[::1]",
                          "fe80::1%eth0", "10.0.0.0/08a", " 10.0.0.0/8"}) {
    INFO(bad);
    CHECK_FALSE(common::parse_cidr(bad).ok());
  }
  CHECK(common::parse_cidr("10.0.0.1/8").error().message.find("beyond its /8") !=
        std::string::npos);
}
