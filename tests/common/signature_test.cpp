// Webhook signatures: GitHub's published test vector, and every way a header can be wrong.
#include <catch2/catch.hpp>

#include <cctype>
#include <string>
#include <vector>

#include "common/signature.hpp"

namespace {
const std::string secret = "It's a Secret to Everybody";
const std::string body = "Hello, World!";
const std::string expected =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
}  // namespace

TEST_CASE("github_signature matches GitHub's documented vector") {
  CHECK(common::github_signature(secret, body) == expected);
}

TEST_CASE("check_signature accepts the right signature") {
  const std::vector<std::string> secrets{secret};
  CHECK(common::check_signature(expected, body, secrets) == common::SignatureCheck::ok);
  // Uppercase hex digits decode to the same bytes.
  std::string upper = expected;
  for (std::size_t i = 7; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  CHECK(common::check_signature(upper, body, secrets) == common::SignatureCheck::ok);
}

TEST_CASE("check_signature rejects a wrong body or secret or digest") {
  const std::vector<std::string> secrets{secret};
  CHECK(common::check_signature(expected, "Hello, World?", secrets) ==
        common::SignatureCheck::mismatch);
  const std::vector<std::string> other{"another secret"};
  CHECK(common::check_signature(expected, body, other) == common::SignatureCheck::mismatch);
  std::string flipped = expected;
  flipped.back() = flipped.back() == '7' ? '8' : '7';
  CHECK(common::check_signature(flipped, body, secrets) == common::SignatureCheck::mismatch);
  // No secrets, or only empty ones, never match (an empty key is public knowledge).
  CHECK(common::check_signature(expected, body, {}) == common::SignatureCheck::mismatch);
  const std::vector<std::string> empty{""};
  CHECK(common::check_signature(common::github_signature("", body), body, empty) ==
        common::SignatureCheck::mismatch);
}

TEST_CASE("check_signature calls malformed headers malformed") {
  const std::vector<std::string> secrets{secret};
  const std::string hex = expected.substr(7);
  for (const std::string& header : {
           std::string(),                        // missing
           "sha1=" + hex.substr(0, 40),          // the old header's format
           "SHA256=" + hex,                      // uppercase prefix
           "sha256=" + hex.substr(0, 63),        // short
           "sha256=" + hex + "0",                // long
           "sha256=" + hex.substr(0, 63) + "g",  // non-hex
           std::string("sha256="),               // empty digest
           " sha256=" + hex,                     // leading space
           "sha256=" + hex + "\n",               // trailing newline
           hex,                                  // no prefix
       }) {
    INFO(header);
    CHECK(common::check_signature(header, body, secrets) == common::SignatureCheck::malformed);
  }
}

TEST_CASE("check_signature accepts any secret during a rotation") {
  const std::vector<std::string> rotation{"the new secret", secret};
  CHECK(common::check_signature(expected, body, rotation) == common::SignatureCheck::ok);
  const auto with_new = common::github_signature("the new secret", body);
  CHECK(common::check_signature(with_new, body, rotation) == common::SignatureCheck::ok);
  CHECK(common::to_string(common::SignatureCheck::mismatch) == "mismatch");
}

TEST_CASE("signatures cover binary bodies byte for byte") {
  const std::string binary("a\0b\xff", 4);
  const std::vector<std::string> secrets{"k"};
  const auto signature = common::github_signature("k", binary);
  CHECK(common::check_signature(signature, binary, secrets) == common::SignatureCheck::ok);
  CHECK(common::check_signature(signature, std::string("a"), secrets) ==
        common::SignatureCheck::mismatch);
  CHECK(common::github_signature("k", "") != common::github_signature("k", std::string(1, '\0')));
}
