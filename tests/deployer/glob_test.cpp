// The only_if_changed patterns: anchoring at the repository root, '*' within one folder, "**/"
// across folders, classes and escapes.
#include <catch2/catch.hpp>

#include "deployer/glob.hpp"

using deployer::any_match;
using deployer::glob_match;

TEST_CASE("a pattern without a slash matches only at the repository root", "[glob]") {
  CHECK(glob_match("pnpm-lock.yaml", "pnpm-lock.yaml"));
  CHECK_FALSE(glob_match("pnpm-lock.yaml", "server/pnpm-lock.yaml"));
  CHECK_FALSE(glob_match("pnpm-lock.yaml", "pnpm-lock.yaml.bak"));
  CHECK_FALSE(glob_match("pnpm-lock.yaml", "xpnpm-lock.yaml"));
}

TEST_CASE("**/ matches any number of folders, including none", "[glob]") {
  CHECK(glob_match("**/package.json", "package.json"));
  CHECK(glob_match("**/package.json", "server/package.json"));
  CHECK(glob_match("**/package.json", "a/b/c/package.json"));
  CHECK_FALSE(glob_match("**/package.json", "server/package.json5"));
  CHECK_FALSE(glob_match("**/package.json", "server/my-package.json"));
  CHECK(glob_match("server/**/schema.prisma", "server/schema.prisma"));
  CHECK(glob_match("server/**/schema.prisma", "server/prisma/schema.prisma"));
  CHECK_FALSE(glob_match("server/**/schema.prisma", "client/prisma/schema.prisma"));
}

TEST_CASE("a trailing /** matches everything below a folder", "[glob]") {
  CHECK(glob_match("prisma/**", "prisma/schema.prisma"));
  CHECK(glob_match("prisma/**", "prisma/migrations/1/migration.sql"));
  CHECK_FALSE(glob_match("prisma/**", "server/prisma/schema.prisma"));
  CHECK(glob_match("**", "anything/at/all"));
}

TEST_CASE("* and ? never cross a slash", "[glob]") {
  CHECK(glob_match("*.json", "package.json"));
  CHECK_FALSE(glob_match("*.json", "server/package.json"));
  CHECK(glob_match("server/*.ts", "server/index.ts"));
  CHECK_FALSE(glob_match("server/*.ts", "server/src/index.ts"));
  CHECK(glob_match("file?.txt", "file1.txt"));
  CHECK_FALSE(glob_match("file?.txt", "file/.txt"));
  CHECK(glob_match("*", "README.md"));
  CHECK_FALSE(glob_match("*", "docs/README.md"));
}

TEST_CASE("character classes, negation and escapes", "[glob]") {
  CHECK(glob_match("v[0-9].txt", "v7.txt"));
  CHECK_FALSE(glob_match("v[0-9].txt", "vx.txt"));
  CHECK(glob_match("v[!0-9].txt", "vx.txt"));
  CHECK_FALSE(glob_match("v[!0-9].txt", "v1.txt"));
  CHECK(glob_match("a\\*b", "a*b"));
  CHECK_FALSE(glob_match("a\\*b", "axb"));
  CHECK(glob_match("[unterminated", "[unterminated"));
}

TEST_CASE("any_match looks for one changed path matching one pattern", "[glob]") {
  std::vector<std::string> patterns{"pnpm-lock.yaml", "**/package.json"};
  CHECK(any_match(patterns, {"README.md", "server/package.json"}));
  CHECK(any_match(patterns, {"pnpm-lock.yaml"}));
  CHECK_FALSE(any_match(patterns, {"README.md", "server/src/index.ts"}));
  CHECK_FALSE(any_match(patterns, {}));
}
