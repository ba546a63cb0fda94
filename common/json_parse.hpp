// json_parse.hpp: parse untrusted JSON text into nlohmann::json with bounded nesting.
//
// A document nested deeper than max_depth is refused by a linear pre-scan before nlohmann sees
// it: nlohmann's parser itself is iterative, but copying, comparing and dumping a value recurse,
// so 100,000 nested brackets in a webhook body would otherwise blow the stack later. Optionally
// a key that appears twice in one object is an error too (nlohmann silently keeps the last one;
// in a configuration file that would silently drop, say, a whole deployment).
//
// Errors say where: "line 3, column 5: syntax error ..." or "nesting deeper than 512 at byte 513".
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace common {

struct JsonParseOptions {
  std::size_t max_depth = 512;  ///< objects/arrays nested deeper than this are refused
  bool reject_duplicate_keys = false;
};

Result<nlohmann::json> parse_json(std::string_view text, const JsonParseOptions& options = {});

/// The deepest nesting of objects and arrays in `text`, scanning at most until it exceeds
/// `limit` (so the cost is bounded for hostile input). Strings are skipped with their escapes.
/// Exact for valid JSON; for invalid JSON the answer is meaningless but the scan still ends.
std::size_t json_nesting_depth(std::string_view text, std::size_t limit,
                               std::size_t* where = nullptr);

}  // namespace common
