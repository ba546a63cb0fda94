// config_reader.cpp: the typed accessors of ConfigNode, each failing with the key path.
#include "common/config_reader.hpp"

#include "common/validate.hpp"

namespace common::config_detail {

void ConfigNode::fail(std::string_view what) const {
  throw ConfigError(context_->display_file, path_, what);
}

void ConfigNode::require_object() const {
  if (!value_->is_object()) fail("must be an object");
}

std::string ConfigNode::as_string() const {
  if (!value_->is_string()) fail("must be a string");
  auto text = value_->get<std::string>();
  // Strings end up in argv, environments and paths, none of which can carry a NUL byte.
  if (text.find('\0') != std::string::npos) fail("must not contain a NUL character");
  return text;
}

std::string ConfigNode::as_nonempty_string() const {
  auto text = as_string();
  if (text.empty()) fail("must not be empty");
  return text;
}

bool ConfigNode::as_bool() const {
  if (!value_->is_boolean()) fail("must be true or false");
  return value_->get<bool>();
}

std::int64_t ConfigNode::as_integer(std::int64_t min, std::int64_t max) const {
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!value_->is_number_integer()) fail("must be " + range);
  if (value_->is_number_unsigned()) {
    const auto value = value_->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(max) || static_cast<std::int64_t>(value) < min) {
      fail("must be " + range);
    }
    return static_cast<std::int64_t>(value);
  }
  const auto value = value_->get<std::int64_t>();
  if (value < min || value > max) fail("must be " + range);
  return value;
}

std::filesystem::path ConfigNode::as_path() const {
  if (!value_->is_string()) fail("must be a path (a string)");
  const std::filesystem::path path = as_nonempty_string();
  // Relative to the configuration file, never to the working directory: PM2, systemd and a
  // shell all start programs in different folders.
  auto resolved =
      path.is_absolute() ? path.lexically_normal() : (context_->base_dir / path).lexically_normal();
  // "www/app/" and "www/app" are one folder: keep one spelling so paths compare equal.
  if (!resolved.has_filename() && resolved.has_relative_path()) resolved = resolved.parent_path();
  return resolved;
}

std::vector<std::string> ConfigNode::as_string_array(bool allow_empty_array) const {
  const char* what = allow_empty_array ? "must be an array of non-empty strings"
                                       : "must be a non-empty array of non-empty strings";
  if (!value_->is_array() || (!allow_empty_array && value_->empty())) fail(what);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value_->size(); ++i) {
    const auto item = element(i);
    if (!item.json().is_string() || item.json().get_ref<const std::string&>().empty()) {
      fail(what);
    }
    out.push_back(item.as_string());
  }
  return out;
}

std::map<std::string, std::string> ConfigNode::as_env_map() const {
  require_object();
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : value_->items()) {
    if (name.starts_with("_")) continue;  // a comment, as everywhere else
    const ConfigNode item(value, child_path(name), *context_);
    if (auto check = check_env_name(name); !check.ok()) {
      item.fail("is not a valid environment variable name: " + check.error().message);
    }
    out.emplace(name, item.as_string());
  }
  return out;
}

SecretSource ConfigNode::as_source() const {
  constexpr const char* shape = "must be {\"env\": \"VARIABLE\"} or {\"file\": \"path\"}";
  if (!value_->is_object()) fail(shape);
  check_keys({"env", "file"});
  const bool env = has("env");
  const bool file = has("file");
  if (env == file) fail(std::string(shape) + " (exactly one of the two)");
  if (env) {
    const auto node = child("env");
    auto name = node.as_nonempty_string();
    if (auto check = check_env_name(name); !check.ok()) {
      node.fail("is not a valid environment variable name: " + check.error().message);
    }
    return SecretSource::from_env(std::move(name));
  }
  return SecretSource::from_file(child("file").as_path());
}

void ConfigNode::check_keys(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : value_->items()) {
    if (key.starts_with("_")) continue;  // a comment
    bool found = false;
    for (auto k : known) found = found || k == key;
    if (!found) ConfigNode(value, child_path(key), *context_).fail("unknown key");
  }
}

bool ConfigNode::has(std::string_view key) const {
  return value_->is_object() && value_->contains(key);
}

ConfigNode ConfigNode::child(std::string_view key) const {
  require_object();
  const auto it = value_->find(key);
  if (it == value_->end()) ConfigNode(*value_, child_path(key), *context_).fail("is required");
  return ConfigNode(*it, child_path(key), *context_);
}

ConfigNode ConfigNode::element(std::size_t index) const {
  return ConfigNode(value_->at(index), path_ + "[" + std::to_string(index) + "]", *context_);
}

std::string ConfigNode::string(std::string_view key, std::string_view fallback) const {
  return has(key) ? child(key).as_string() : std::string(fallback);
}

bool ConfigNode::boolean(std::string_view key, bool fallback) const {
  return has(key) ? child(key).as_bool() : fallback;
}

std::int64_t ConfigNode::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                 std::int64_t max) const {
  return has(key) ? child(key).as_integer(min, max) : fallback;
}

std::string ConfigNode::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

}  // namespace common::config_detail
