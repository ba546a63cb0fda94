// lookup.cpp: see lookup.hpp.
#include "deployctl/lookup.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "queue-layout/name.hpp"

namespace deployctl {

common::Config load(const Context& context) {
  return common::load_config_for(context.options);
}

const common::Deployment& find_deployment(const common::Config& config, const std::string& name) {
  const auto found = config.deployments.find(name);
  if (found != config.deployments.end()) return found->second;
  std::string known;
  for (const auto& [key, deployment] : config.deployments) {
    known += (known.empty() ? "" : ", ") + key;
  }
  throw Failure("no deployment named '" + name + "' in " + config.file.string() +
                " (known: " + known + ")");
}

queue_layout::Layout layout_of(const common::Config& config) {
  return queue_layout::Layout(config.state_dir);
}

std::string entry_argument(const std::string& value, const std::string& what) {
  if (queue_layout::is_entry_name(value)) return value;
  if (queue_layout::is_entry_name(value + ".json")) return value + ".json";
  throw UsageError(what + " '" + value +
                   "' is not an entry name (<20-digit epoch ns>-<id>.json, as `ls` shows it)");
}

std::string requesting_user() {
  for (const char* variable : {"SUDO_USER", "USER"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0') return value;
  }
  if (const passwd* entry = ::getpwuid(::geteuid());
      entry != nullptr && entry->pw_name != nullptr) {
    return entry->pw_name;
  }
  return "deployctl";
}

}  // namespace deployctl
