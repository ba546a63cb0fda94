// validate.cpp: the character-set and shape rules of validate.hpp.
//
// Every rule is written out by hand over plain ASCII classes (no <regex>, no locale): the
// behaviour must not depend on the environment, and a byte outside the set (NUL, a UTF-8
// sequence, a newline) must always be refused.
#include "common/validate.hpp"

#include <algorithm>
#include <cstddef>

#include "queue-layout/name.hpp"

namespace common {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_alnum(char c) {
  return is_digit(c) || is_lower(c) || is_upper(c);
}
bool is_lower_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}

template <typename Pred>
bool all_of(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), pred);
}

Result<void> fail(std::string message) {
  return Error{std::move(message)};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.ends_with(suffix);
}

}  // namespace

Result<void> check_delivery_id(std::string_view s) {
  if (s.empty()) return fail("must not be empty");
  if (s.size() > 100) return fail("must be at most 100 characters");
  if (!all_of(s, [](char c) { return is_alnum(c) || c == '_' || c == '-'; }))
    return fail("must contain only letters, digits, '_' and '-'");
  return {};
}

Result<void> check_hook_id(std::string_view s) {
  if (s.empty()) return fail("must not be empty");
  if (s.size() > 20) return fail("must be at most 20 digits");
  if (!all_of(s, is_digit)) return fail("must contain only digits");
  return {};
}

Result<void> check_event_name(std::string_view s) {
  if (s.empty()) return fail("must not be empty");
  if (s.size() > 64) return fail("must be at most 64 characters");
  // GitHub's event names include digits (projects_v2_item); which events deploy is the
  // router's business, so every well-formed name is accepted and stored.
  if (!all_of(s, [](char c) { return is_lower(c) || is_digit(c) || c == '_'; }))
    return fail("must contain only lowercase letters, digits and '_'");
  return {};
}

Result<void> check_entry_name(std::string_view s) {
  if (!queue_layout::is_entry_name(s))
    return fail("must be <20 digits>-<[A-Za-z0-9_-]{1,100}>.json");
  return {};
}

Result<void> check_deployment_name(std::string_view s) {
  if (s.empty()) return fail("must not be empty");
  if (s.size() > 64) return fail("must be at most 64 characters");
  if (!is_alnum(s.front())) return fail("must start with a letter or a digit");
  if (!all_of(s, [](char c) { return is_alnum(c) || c == '_' || c == '-'; }))
    return fail("must contain only letters, digits, '_' and '-'");
  return {};
}

Result<void> check_repository(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return fail("must be \"owner/name\"");
  const auto owner = s.substr(0, slash);
  const auto name = s.substr(slash + 1);
  if (owner.empty() || owner.size() > 39) return fail("owner must be 1 to 39 characters");
  if (owner.front() == '-') return fail("owner must not start with '-'");
  if (!all_of(owner, [](char c) { return is_alnum(c) || c == '-'; }))
    return fail("owner must contain only letters, digits and '-'");
  if (name.empty() || name.size() > 100) return fail("name must be 1 to 100 characters");
  if (!all_of(name, [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }))
    return fail("name must contain only letters, digits, '.', '_' and '-'");
  if (name == "." || name == "..") return fail("name must not be \".\" or \"..\"");
  return {};
}

bool same_repository(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

Result<void> check_branch(std::string_view s) {
  if (s.empty()) return fail("must not be empty");
  if (s.size() > 255) return fail("must be at most 255 characters");
  if (!all_of(s,
              [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '/' || c == '-'; }))
    return fail("must contain only letters, digits, '.', '_', '/' and '-'");
  if (s.front() == '-' || s.front() == '/' || s.front() == '.')
    return fail("must not start with '-', '/' or '.'");
  if (s.back() == '/' || s.back() == '.') return fail("must not end with '/' or '.'");
  if (s.find("..") != std::string_view::npos) return fail("must not contain \"..\"");
  if (s.find("//") != std::string_view::npos) return fail("must not contain \"//\"");
  if (s.find("@{") != std::string_view::npos) return fail("must not contain \"@{\"");
  // git refuses these per path component, not only for the whole name.
  if (s.find("/.") != std::string_view::npos) return fail("no component may start with '.'");
  if (ends_with(s, ".lock") || s.find(".lock/") != std::string_view::npos)
    return fail("no component may end with \".lock\"");
  return {};
}

Result<void> check_ref(std::string_view s) {
  constexpr std::string_view heads = "refs/heads/";
  constexpr std::string_view tags = "refs/tags/";
  std::string_view name;
  if (s.starts_with(heads)) {
    name = s.substr(heads.size());
  } else if (s.starts_with(tags)) {
    name = s.substr(tags.size());
  } else {
    return fail("must start with \"refs/heads/\" or \"refs/tags/\"");
  }
  auto branch = check_branch(name);
  if (!branch.ok())
    return fail("name after \"refs/heads/\" or \"refs/tags/\" " + branch.error().message);
  return {};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<void> check_sha(std::string_view s) {
  if (s.size() != 40 && s.size() != 64) return fail("must be 40 or 64 hexadecimal digits");
  if (!all_of(s, is_lower_hex)) return fail("must contain only lowercase hexadecimal digits");
  return {};
}

Result<void> check_env_name(std::string_view s) {
  if (s.empty()) return fail("must not be empty");
  if (s.size() > 128) return fail("must be at most 128 characters");
  if (is_digit(s.front())) return fail("must not start with a digit");
  if (!all_of(s, [](char c) { return is_alnum(c) || c == '_'; }))
    return fail("must contain only letters, digits and '_'");
  return {};
}

Result<void> check_step_name(std::string_view s) {
  if (s.empty()) return fail("must not be empty");
  if (s.size() > 64) return fail("must be at most 64 characters");
  if (!all_of(s, [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }))
    return fail("must contain only letters, digits, '_', '.' and '-'");
  if (s == "." || s == "..") return fail("must not be \".\" or \"..\"");
  return {};
}

Result<void> check_timestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS then optionally .d{1,9}, then Z.
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  auto bad = [] { return fail("must be a UTC time like 2026-11-23T04:05:06.123456789Z"); };
  if (s.size() < shape.size() + 1) return bad();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i]) return bad();
  }
  auto number = [&](std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); };
  if (number(5) < 1 || number(5) > 12 || number(8) < 1 || number(8) > 31 || number(11) > 23 ||
      number(14) > 59 || number(17) > 60)
    return bad();
  auto rest = s.substr(shape.size());
  if (rest.front() == '.') {
    const auto digits = rest.substr(1, rest.size() - 2);
    if (digits.empty() || digits.size() > 9 || !all_of(digits, is_digit)) return bad();
  }
  if (rest.back() != 'Z' || (rest.size() > 1 && rest.front() != '.')) return bad();
  return {};
}

bool valid_delivery_id(std::string_view s) {
  return check_delivery_id(s).ok();
}
bool valid_hook_id(std::string_view s) {
  return check_hook_id(s).ok();
}
bool valid_event_name(std::string_view s) {
  return check_event_name(s).ok();
}
bool valid_entry_name(std::string_view s) {
  return queue_layout::is_entry_name(s);
}
bool valid_deployment_name(std::string_view s) {
  return check_deployment_name(s).ok();
}
bool valid_repository(std::string_view s) {
  return check_repository(s).ok();
}
bool valid_branch(std::string_view s) {
  return check_branch(s).ok();
}
bool valid_ref(std::string_view s) {
  return check_ref(s).ok();
}
bool valid_sha(std::string_view s) {
  return check_sha(s).ok();
}
bool valid_env_name(std::string_view s) {
  return check_env_name(s).ok();
}
bool valid_step_name(std::string_view s) {
  return check_step_name(s).ok();
}
bool valid_timestamp(std::string_view s) {
  return check_timestamp(s).ok();
}

}  // namespace common
