// regression_test.cpp: unit-level regression tests for defects the reliability suite found.
// (The end-to-end form of each is a request in tests/reliability/corpus/.)
//
// 1. nlohmann ends its input at a NUL byte and skips a leading UTF-8 byte order mark. The
//    receiver's JSON-object check therefore accepted `{"a":1}<NUL>` and `<BOM>{"a":1}`, embedded
//    them verbatim, answered 202, and wrote an entry no reader could parse (the router then
//    rejected an acknowledged delivery). common::parse_json silently ignored everything after a
//    NUL in a configuration file or an entry.
#include <catch2/catch.hpp>

#include <string>

#include "common/entry.hpp"
#include "common/json_parse.hpp"
#include "receiver/payload.hpp"

using namespace std::string_literals;

TEST_CASE("the receiver refuses a payload with a NUL byte or a byte order mark") {
  CHECK(receiver::check_json_object(R"({"a":1})").ok());
  CHECK_FALSE(receiver::check_json_object("{\"a\":1}\0"s).ok());
  CHECK_FALSE(receiver::check_json_object("{\"a\":1}\0{{{"s).ok());
  CHECK_FALSE(receiver::check_json_object("{\"a\":\"b\0c\"}"s).ok());
  CHECK_FALSE(receiver::check_json_object("\xEF\xBB\xBF{\"a\":1}").ok());
}

TEST_CASE("parse_json and parse_entry refuse text with a NUL byte or a byte order mark") {
  CHECK(common::parse_json(R"({"a":1})").ok());
  auto nul = common::parse_json("{\"a\":1}\0junk"s);
  REQUIRE_FALSE(nul.ok());
  CHECK(nul.error().message.find("NUL") != std::string::npos);
  CHECK_FALSE(common::parse_json("\xEF\xBB\xBF{}").ok());
  CHECK_FALSE(
      common::parse_entry("{\"event\":\"push\",\"payload\":{}}\0{\"event\":\"ping\"}"s).ok());
}
