// config_reader.hpp: typed, path-tracking access to a JSON configuration document.
// Internal to config.cpp; other modules use config.hpp.
//
// A ConfigNode is one value plus its key path ("deployments.durhack.steps[2].run"). Every
// accessor either returns a checked value or throws ConfigError "<file>: <path>: <problem>", so
// the loader reads like a table of (key, type, default, range) and cannot forget to say where
// an error is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config.hpp"

namespace common::config_detail {

/// What every node needs to report errors and resolve paths.
struct ConfigContext {
  std::filesystem::path display_file;  ///< the file as the operator named it, for messages
  std::filesystem::path base_dir;      ///< absolute folder of the file, for relative paths
};

class ConfigNode {
 public:
  ConfigNode(const nlohmann::json& value, std::string path, const ConfigContext& context)
      : value_(&value), path_(std::move(path)), context_(&context) {}

  const nlohmann::json& json() const { return *value_; }
  const std::string& path() const { return path_; }
  const ConfigContext& context() const { return *context_; }

  /// Throws ConfigError for this node's path.
  [[noreturn]] void fail(std::string_view what) const;

  // --- this node's own value --------------------------------------------------------------
  void require_object() const;
  std::string as_string() const;  ///< a string without NUL
  std::string as_nonempty_string() const;
  bool as_bool() const;
  std::int64_t as_integer(std::int64_t min, std::int64_t max) const;
  std::filesystem::path as_path() const;  ///< non-empty, resolved against the file's folder
  std::vector<std::string> as_string_array(bool allow_empty_array) const;  ///< non-empty strings
  std::map<std::string, std::string> as_env_map() const;  ///< {NAME: string}, valid_env_name
  SecretSource as_source() const;                         ///< {"env": NAME} or {"file": path}

  // --- members of this object (require_object() first) -----------------------------------
  /// Fails naming the first key that is neither in `known` nor a "_" comment.
  void check_keys(std::initializer_list<std::string_view> known) const;
  bool has(std::string_view key) const;
  ConfigNode child(std::string_view key) const;  ///< fails with "is required" when absent
  ConfigNode element(std::size_t index) const;   ///< for arrays

  std::string string(std::string_view key, std::string_view fallback) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;

 private:
  std::string child_path(std::string_view key) const;

  const nlohmann::json* value_;
  std::string path_;
  const ConfigContext* context_;
};

}  // namespace common::config_detail
