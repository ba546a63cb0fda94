// payload.cpp: content types, form decoding and the streaming JSON-object check (see payload.hpp).
#include "receiver/payload.hpp"

#include <nlohmann/json.hpp>

#include "common/entry.hpp"
#include "common/validate.hpp"

namespace receiver {

static_assert(kMaxDepth + 1 == common::max_entry_depth,
              "an accepted payload must fit in an entry that parse_entry reads back");

namespace {

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Counts nesting while nlohmann's (iterative) parser streams events; building no document.
// Returning false from a callback stops the parse at once, so the depth limit is enforced
// before the parser goes any deeper.
// It also notes the payload's repository.full_name (the last one, as a parser building the
// document would keep it), which decides the secrets the signature is checked against.
class ObjectChecker : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string problem;
  std::optional<std::string> repository;

  bool null() override { return top_level_scalar("null"); }
  bool boolean(bool) override { return top_level_scalar("a boolean"); }
  bool number_integer(number_integer_t) override { return top_level_scalar("a number"); }
  bool number_unsigned(number_unsigned_t) override { return top_level_scalar("a number"); }
  bool number_float(number_float_t, const string_t&) override {
    return top_level_scalar("a number");
  }
  bool string(string_t& value) override {
    if (depth_ == 2 && in_repository_ && at_full_name_) repository = value;
    return top_level_scalar("a string");
  }
  bool binary(binary_t&) override { return top_level_scalar("binary data"); }
  bool start_object(std::size_t) override {
    if (depth_ == 1) in_repository_ = at_repository_;
    return open(true);
  }
  bool key(string_t& name) override {
    if (depth_ == 1) {
      at_repository_ = name == "repository";
      if (at_repository_) repository.reset();  // a later "repository" replaces an earlier one
    }
    if (depth_ == 2) at_full_name_ = name == "full_name";
    return true;
  }
  bool end_object() override {
    if (depth_ == 2) in_repository_ = false;
    return close();
  }
  bool start_array(std::size_t) override {
    if (depth_ == 1) at_repository_ = false;
    return open(false);
  }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    // nlohmann's message already says where ("syntax error while parsing value - ...").
    problem = "not valid JSON at byte " + std::to_string(position) + ": " + error.what();
    return false;
  }

 private:
  bool top_level_scalar(const char* what) {
    if (depth_ > 0) return true;
    problem = std::string("not a JSON object: the body is ") + what;
    return false;
  }
  bool open(bool object) {
    if (depth_ == 0 && !object) {
      problem = "not a JSON object: the body is an array";
      return false;
    }
    if (++depth_ > kMaxDepth) {
      problem = "JSON nesting deeper than " + std::to_string(kMaxDepth);
      return false;
    }
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  std::size_t depth_ = 0;
  bool at_repository_ = false;  // the value being read is the top level's "repository"
  bool in_repository_ = false;  // inside that object (depth 2)
  bool at_full_name_ = false;   // the value being read is its "full_name"
};

}  // namespace

ContentType classify_content_type(std::string_view value) {
  auto media = lower_trimmed(value.substr(0, value.find(';')));
  if (media == "application/json") return ContentType::json;
  if (media == "application/x-www-form-urlencoded") return ContentType::form;
  return ContentType::other;
}

common::Result<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      bool complete = i + 2 < text.size();
      int high = complete ? common::hex_value(text[i + 1]) : -1;
      int low = complete ? common::hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return common::Error{"malformed percent-escape at byte " + std::to_string(i)};
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

common::Result<std::string> form_payload(std::string_view body) {
  std::optional<std::string> payload;
  while (true) {
    auto amp = body.find('&');
    auto field = body.substr(0, amp);
    auto eq = field.find('=');
    auto name = url_decode(field.substr(0, eq));
    if (!name.ok()) return common::Error{"form field name: " + name.error().message};
    if (*name == "payload") {
      if (payload) return common::Error{"the form has more than one \"payload\" field"};
      auto value =
          url_decode(eq == std::string_view::npos ? std::string_view{} : field.substr(eq + 1));
      if (!value.ok()) return common::Error{"form field \"payload\": " + value.error().message};
      payload = std::move(*value);
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  if (!payload) return common::Error{"the form has no \"payload\" field"};
  return std::move(*payload);
}

common::Result<void> check_json_object(std::string_view text,
                                       std::optional<std::string>* repository) {
  // nlohmann ends its input at a NUL byte and skips a leading UTF-8 byte order mark: without
  // these checks `{"a":1}<NUL>` passed, was embedded verbatim and made an entry no reader can
  // parse (acknowledged with 202, then rejected by the router).
  if (text.find('\0') != std::string_view::npos) return common::Error{"a NUL byte in the JSON"};
  if (text.starts_with("\xEF\xBB\xBF")) return common::Error{"a byte order mark before the JSON"};
  ObjectChecker checker;
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &checker);
  if (ok) {
    if (repository != nullptr) *repository = std::move(checker.repository);
    return {};
  }
  if (checker.problem.empty()) return common::Error{"not valid JSON"};
  return common::Error{std::move(checker.problem)};
}

}  // namespace receiver
