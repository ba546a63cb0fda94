// Unit tests of receiver/payload: content types, form decoding, the depth-guarded object check.
#include <catch2/catch.hpp>

#include "receiver/payload.hpp"

using receiver::check_json_object;
using receiver::ContentType;

namespace {

std::string problem(std::string_view text) {
  auto r = check_json_object(text);
  return r.ok() ? "ok" : r.error().message;
}

}  // namespace

TEST_CASE("content types are classified by media type, ignoring case and parameters") {
  using receiver::classify_content_type;
  CHECK(classify_content_type("application/json") == ContentType::json);
  CHECK(classify_content_type(" Application/JSON ; charset=utf-8") == ContentType::json);
  CHECK(classify_content_type("application/x-www-form-urlencoded") == ContentType::form);
  CHECK(classify_content_type("text/plain") == ContentType::other);
  CHECK(classify_content_type("application/jsonx") == ContentType::other);
  CHECK(classify_content_type("") == ContentType::other);
}

TEST_CASE("url decoding handles plus, escapes and refuses malformed escapes") {
  CHECK(receiver::url_decode("a+b%20c%2B%7b%7D").value() == "a b c+{}");
  CHECK(receiver::url_decode("%00").value() == std::string(1, '\0'));
  CHECK_FALSE(receiver::url_decode("%4").ok());
  CHECK_FALSE(receiver::url_decode("abc%").ok());
  CHECK_FALSE(receiver::url_decode("%zz").ok());
}

TEST_CASE("the form payload field is found, decoded and must be unique") {
  CHECK(receiver::form_payload("payload=%7B%22a%22%3A1%7D").value() == R"({"a":1})");
  CHECK(receiver::form_payload("x=1&payload=%7B%7D&y=2").value() == "{}");
  CHECK(receiver::form_payload("pay%6Coad=%7B%7D").value() == "{}");
  CHECK_THAT(receiver::form_payload("x=1").error().message, Catch::Contains("no \"payload\""));
  CHECK_THAT(receiver::form_payload("payload=1&payload=2").error().message,
             Catch::Contains("more than one"));
  CHECK_THAT(receiver::form_payload("payload=%G0").error().message, Catch::Contains("payload"));
}

TEST_CASE("only one JSON object is accepted") {
  CHECK(problem(R"({"a":[1,2,{"b":null}],"c":"\u00e9"})") == "ok");
  CHECK(problem(" \n{}\n ") == "ok");
  CHECK_THAT(problem("[1]"), Catch::Contains("array"));
  CHECK_THAT(problem("\"x\""), Catch::Contains("string"));
  CHECK_THAT(problem("42"), Catch::Contains("number"));
  CHECK_THAT(problem("null"), Catch::Contains("null"));
  CHECK_THAT(problem("{} {}"), Catch::Contains("not valid JSON"));
  CHECK_THAT(problem("{\"a\":}"), Catch::Contains("not valid JSON"));
  CHECK_THAT(problem(""), Catch::Contains("not valid JSON"));
  CHECK_THAT(problem("{\"a\":\"\xff\"}"), Catch::Contains("not valid JSON"));
}

TEST_CASE("hostile nesting is refused without recursion") {
  std::string arrays = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK_THAT(problem(arrays), Catch::Contains("deeper than 511"));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  CHECK_THAT(problem(objects), Catch::Contains("deeper than 511"));

  auto nested = [](std::size_t depth) {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
    s += "1";
    for (std::size_t i = 0; i < depth; ++i) s += "}";
    return s;
  };
  CHECK(problem(nested(receiver::kMaxDepth)) == "ok");
  CHECK_THAT(problem(nested(receiver::kMaxDepth + 1)), Catch::Contains("deeper"));
}
