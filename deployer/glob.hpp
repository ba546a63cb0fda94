// glob.hpp: the path patterns of a step's "only_if_changed" list.
//
// A pattern is matched against a whole path relative to the repository root, as git prints it
// ("server/package.json"), and is anchored there: "pnpm-lock.yaml" matches only the file at the
// root. Syntax:
//   *      any run of characters except '/'
//   ?      one character except '/'
//   [abc]  one character of a set; ranges "a-z"; "[!x]" or "[^x]" negates; never matches '/'
//   **/    zero or more whole folders ("**/package.json" matches at any depth)
//   /**    at the end: everything below a folder ("prisma/**")
//   **     alone: every path
//   \x     the character x literally
// Pure functions; no file system access.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deployer {

/// True when `path` matches `pattern` (see above).
bool glob_match(std::string_view pattern, std::string_view path);

/// True when any of `paths` matches any of `patterns`.
bool any_match(const std::vector<std::string>& patterns, const std::vector<std::string>& paths);

}  // namespace deployer
