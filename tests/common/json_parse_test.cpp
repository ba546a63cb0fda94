// Bounded JSON parsing: depth limit before recursion, duplicate keys, readable positions.
#include <catch2/catch.hpp>

#include <string>

#include "common/json_parse.hpp"

TEST_CASE("parse_json refuses 100000 nested arrays without crashing") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto parsed = common::parse_json(deep);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().message == "nesting deeper than 512 at byte 513");
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "{\"a\":";
    return s + "1" + std::string(100000, '}');
  }();
  CHECK_FALSE(common::parse_json(objects).ok());
}

TEST_CASE("parse_json accepts exactly max_depth levels") {
  const std::string at_limit = std::string(512, '[') + std::string(512, ']');
  CHECK(common::parse_json(at_limit).ok());
  const std::string over = std::string(513, '[') + std::string(513, ']');
  CHECK_FALSE(common::parse_json(over).ok());
  // Brackets inside strings do not count.
  const std::string in_string = "{\"a\":\"" + std::string(1000, '[') + "\\\"[\"}";
  CHECK(common::parse_json(in_string).ok());
}

TEST_CASE("parse_json reports positions and duplicate keys") {
  auto bad = common::parse_json("{\n  \"a\": tru\n}");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.starts_with("line "));
  CHECK(bad.error().message.find("column") != std::string::npos);
  CHECK(common::parse_json("{\"a\":1,\"a\":2}").ok());
  const common::JsonParseOptions strict{64, true};
  auto duplicate = common::parse_json("{\"x\":[{\"b\":1},{\"c\":{\"d\":1,\"d\":2}}]}", strict);
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().message == "x[1].c: duplicate key \"d\"");
  auto top = common::parse_json("{\"a\":1,\"a\":2}", strict);
  REQUIRE_FALSE(top.ok());
  CHECK(top.error().message == "duplicate key \"a\"");
  CHECK(common::parse_json("{\"a\":{\"k\":1},\"b\":{\"k\":1}}", strict).ok());
}
