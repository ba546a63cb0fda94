// json_parse.cpp: the depth pre-scan, duplicate-key detection and readable parse errors.
#include "common/json_parse.hpp"

#include <set>
#include <string>
#include <vector>

namespace common {
namespace {

// Thrown from inside nlohmann's parser callback to stop at the first duplicate key.
struct DuplicateKey {
  std::string message;
};

// Tracks where the parser is ("a.b[3]") so a duplicate key can be named with its path.
class DuplicateKeyDetector {
 public:
  bool operator()(int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
        begin_element();
        frames_.push_back(Frame{true, {}, {}, 0});
        break;
      case Event::array_start:
        begin_element();
        frames_.push_back(Frame{false, {}, {}, 0});
        break;
      case Event::object_end:
      case Event::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case Event::key: {
        auto& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          std::string where = path(frames_.size() - 1);
          throw DuplicateKey{(where.empty() ? std::string() : where + ": ") + "duplicate key \"" +
                             top.key + "\""};
        }
        break;
      }
      case Event::value:
        begin_element();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;    // objects: the key being parsed
    std::size_t count;  // arrays: elements seen so far
  };

  void begin_element() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().count;
  }

  // The path of the value being parsed in frames_[0..levels).
  std::string path(std::size_t levels) const {
    std::string out;
    for (std::size_t i = 0; i < levels; ++i) {
      const auto& frame = frames_[i];
      if (frame.object) {
        if (!out.empty()) out += '.';
        out += frame.key;
      } else {
        out += '[' + std::to_string(frame.count - 1) + ']';
      }
    }
    return out;
  }

  std::vector<Frame> frames_;
};

// "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> "line 1, column 2:
// ..."
std::string readable(const nlohmann::json::exception& e) {
  std::string message = e.what();
  if (message.starts_with("[json.exception.")) {
    const auto end = message.find("] ");
    if (end != std::string::npos) message.erase(0, end + 2);
  }
  constexpr std::string_view prefix = "parse error at ";
  if (message.starts_with(prefix)) message.erase(0, prefix.size());
  return message;
}

}  // namespace

std::size_t json_nesting_depth(std::string_view text, std::size_t limit, std::size_t* where) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) {
          if (where != nullptr) *where = i;
          return deepest;
        }
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::json> parse_json(std::string_view text, const JsonParseOptions& options) {
  // nlohmann ends its input at a NUL byte (as for a C string) and skips a leading UTF-8 byte
  // order mark, so `{"a":1}<NUL>junk` would parse. Neither byte sequence is JSON (RFC 8259):
  // refuse them, or a file that other JSON readers reject would count as valid here.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    return Error{"a NUL byte at byte " + std::to_string(nul + 1)};
  }
  if (text.starts_with("\xEF\xBB\xBF")) return Error{"a byte order mark at byte 1"};
  std::size_t where = 0;
  if (json_nesting_depth(text, options.max_depth, &where) > options.max_depth) {
    return Error{"nesting deeper than " + std::to_string(options.max_depth) + " at byte " +
                 std::to_string(where + 1)};
  }
  try {
    if (options.reject_duplicate_keys) {
      return nlohmann::json::parse(text.begin(), text.end(), DuplicateKeyDetector{});
    }
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const DuplicateKey& e) {
    return Error{e.message};
  } catch (const nlohmann::json::exception& e) {
    return Error{readable(e)};
  }
}

}  // namespace common
