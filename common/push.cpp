// push.cpp: parse_push, the fields of a GitHub push payload a deployment acts on.
#include "common/entry.hpp"
#include "common/validate.hpp"

namespace common {
namespace {

constexpr std::string_view heads = "refs/heads/";
constexpr std::string_view tags = "refs/tags/";

// A required, validated string at payload.<key>.
Result<std::string> string_field(const nlohmann::json& object, std::string_view path,
                                 const char* key, Result<void> (*check)(std::string_view)) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Error{std::string(path) + ": missing"};
  if (!it->is_string()) return Error{std::string(path) + ": must be a string"};
  const auto& text = it->get_ref<const std::string&>();
  if (auto valid = check(text); !valid.ok()) {
    return Error{std::string(path) + ": " + valid.error().message};
  }
  return text;
}

Result<bool> bool_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) return Error{std::string("payload.") + key + ": must be true or false"};
  return it->get<bool>();
}

}  // namespace

bool Push::is_tag() const {
  return ref.starts_with(tags);
}

std::string Push::branch() const {
  return ref.starts_with(heads) ? ref.substr(heads.size()) : std::string();
}

std::string Push::tag() const {
  return is_tag() ? ref.substr(tags.size()) : std::string();
}

Result<Push> parse_push(const nlohmann::json& payload) {
  if (!payload.is_object()) return Error{"payload: must be a JSON object"};
  Push push;
  auto ref = string_field(payload, "payload.ref", "ref", check_ref);
  if (!ref.ok()) return ref.error();
  push.ref = std::move(ref.value());
  auto after = string_field(payload, "payload.after", "after", check_sha);
  if (!after.ok()) return after.error();
  push.after = std::move(after.value());
  if (const auto it = payload.find("before"); it != payload.end() && !it->is_null()) {
    auto before = string_field(payload, "payload.before", "before", check_sha);
    if (!before.ok()) return before.error();
    push.before = std::move(before.value());
  }
  const auto repository = payload.find("repository");
  if (repository == payload.end() || !repository->is_object()) {
    return Error{"payload.repository: missing or not an object"};
  }
  auto full_name =
      string_field(*repository, "payload.repository.full_name", "full_name", check_repository);
  if (!full_name.ok()) return full_name.error();
  push.repository = std::move(full_name.value());
  for (auto [key, out] : {std::pair{"deleted", &push.deleted}, std::pair{"created", &push.created},
                          std::pair{"forced", &push.forced}}) {
    auto value = bool_field(payload, key);
    if (!value.ok()) return value.error();
    *out = value.value();
  }
  return push;
}

}  // namespace common
