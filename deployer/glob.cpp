// glob.cpp: a small recursive matcher for the patterns described in glob.hpp.
//
// Recursion only happens at '*' and '**'; the input is a file path from git (bounded by PATH_MAX)
// and the pattern comes from the configuration, so depth and run time stay small.
#include "deployer/glob.hpp"

#include <cstddef>

namespace deployer {
namespace {

// Matches one bracket expression starting at pattern[p] == '['. Sets `next` to the index after
// the closing ']'. Returns false for '/' or when `c` is outside the set. A '[' without a closing
// ']' is taken literally.
bool match_class(std::string_view pattern, std::size_t p, char c, std::size_t& next,
                 bool& literal) {
  std::size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  for (; i < pattern.size(); ++i) {
    char ch = pattern[i];
    if (ch == ']' && !first) {
      next = i + 1;
      literal = false;
      if (c == '/') return false;
      return matched != negate;
    }
    first = false;
    if (ch == '\\' && i + 1 < pattern.size()) ch = pattern[++i];
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      char hi = pattern[i + 2];
      if (hi == '\\' && i + 3 < pattern.size()) {
        hi = pattern[i + 3];
        ++i;
      }
      if (ch <= c && c <= hi) matched = true;
      i += 2;
    } else if (ch == c) {
      matched = true;
    }
  }
  literal = true;  // unterminated: '[' is an ordinary character
  next = p + 1;
  return c == '[';
}

bool match_from(std::string_view pattern, std::size_t p, std::string_view path, std::size_t s) {
  while (p < pattern.size()) {
    char pc = pattern[p];
    if (pc == '*') {
      bool double_star =
          p + 1 < pattern.size() && pattern[p + 1] == '*' && (p == 0 || pattern[p - 1] == '/');
      if (double_star) {
        std::size_t after = p + 2;
        if (after == pattern.size()) return true;  // "**" or "dir/**": everything below
        if (pattern[after] == '/') {
          // "**/": zero or more whole folders. Try here, then after every '/' further on.
          std::size_t rest = after + 1;
          if (match_from(pattern, rest, path, s)) return true;
          for (std::size_t i = s; i < path.size(); ++i) {
            if (path[i] == '/' && match_from(pattern, rest, path, i + 1)) return true;
          }
          return false;
        }
        // "**x" is not a folder wildcard: treat as a single '*'.
      }
      // '*': any run without '/'. Collapse repeated stars.
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p == pattern.size()) return path.find('/', s) == std::string_view::npos;
      for (std::size_t i = s; i <= path.size(); ++i) {
        if (match_from(pattern, p, path, i)) return true;
        if (i < path.size() && path[i] == '/') break;
      }
      return false;
    }
    if (s >= path.size()) return false;
    if (pc == '?') {
      if (path[s] == '/') return false;
      ++p;
      ++s;
      continue;
    }
    if (pc == '[') {
      std::size_t next = p;
      bool literal = false;
      if (!match_class(pattern, p, path[s], next, literal)) return false;
      p = next;
      ++s;
      continue;
    }
    if (pc == '\\' && p + 1 < pattern.size()) {
      ++p;
      pc = pattern[p];
    }
    if (pc != path[s]) return false;
    ++p;
    ++s;
  }
  return s == path.size();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  return match_from(pattern, 0, path, 0);
}

bool any_match(const std::vector<std::string>& patterns, const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    for (const auto& pattern : patterns) {
      if (glob_match(pattern, path)) return true;
    }
  }
  return false;
}

}  // namespace deployer
