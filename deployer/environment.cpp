// environment.cpp: see environment.hpp.
#include "deployer/environment.hpp"

#include <map>
#include <set>

extern char** environ;

namespace deployer {

namespace {

std::vector<std::pair<std::string, const std::string*>> variable_table(const DeployVars& vars) {
  std::vector<std::pair<std::string, const std::string*>> table{
      {"DEPLOY_DEPLOYMENT", &vars.deployment},       {"DEPLOY_SHA", &vars.sha},
      {"DEPLOY_PREVIOUS_SHA", &vars.previous_sha},   {"DEPLOY_REF", &vars.ref},
      {"DEPLOY_DELIVERY", &vars.delivery},           {"DEPLOY_ENTRY", &vars.entry},
      {"DEPLOY_CHANGED_FILES", &vars.changed_files},
  };
  if (vars.release_mode) {
    table.emplace_back("DEPLOY_RELEASE_DIR", &vars.release_dir);
    table.emplace_back("DEPLOY_PREVIOUS_RELEASE_DIR", &vars.previous_release_dir);
    table.emplace_back("DEPLOY_ROOT", &vars.root);
  }
  return table;
}

std::string name_of(const std::string& assignment) {
  return assignment.substr(0, assignment.find('='));
}

}  // namespace

std::vector<std::string> process_environment() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    if (entry.find('=') != std::string::npos) out.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::string> without_secrets(const std::vector<std::string>& base,
                                         const common::Config& config) {
  std::set<std::string> secret_names;
  auto add = [&](const common::SecretSource& source) {
    if (source.kind == common::SecretSource::Kind::env) secret_names.insert(source.env);
  };
  add(config.database_url);
  add(config.github.token);
  for (const auto& source : config.webhook_secrets) add(source);
  for (const auto& [name, deployment] : config.deployments) {
    for (const auto& source : deployment.webhook_secrets) add(source);
  }
  std::vector<std::string> out;
  for (const auto& entry : base) {
    if (!secret_names.contains(name_of(entry))) out.push_back(entry);
  }
  return out;
}

std::vector<std::string> deploy_variables(const DeployVars& vars) {
  std::vector<std::string> out;
  for (const auto& [name, value] : variable_table(vars)) out.push_back(name + "=" + *value);
  return out;
}

std::vector<std::string> step_environment(const std::vector<std::string>& base,
                                          const common::Deployment& deployment,
                                          const common::Step& step, const DeployVars& vars) {
  // A map keeps one value per name (the last layer wins) and a stable, sorted order.
  std::map<std::string, std::string> merged;
  for (const auto& entry : base) {
    auto eq = entry.find('=');
    merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : deployment.env) merged[name] = value;
  for (const auto& [name, value] : step.env) merged[name] = value;
  for (const auto& [name, value] : variable_table(vars)) merged[name] = *value;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [name, value] : merged) out.push_back(name + "=" + value);
  return out;
}

std::string expand_argument(const std::string& argument, const DeployVars& vars) {
  if (argument.find("${DEPLOY_") == std::string::npos) return argument;
  auto table = variable_table(vars);
  std::string out;
  std::size_t i = 0;
  while (i < argument.size()) {
    if (argument.compare(i, 2, "${") == 0) {
      auto close = argument.find('}', i + 2);
      if (close != std::string::npos) {
        std::string name = argument.substr(i + 2, close - i - 2);
        const std::string* value = nullptr;
        for (const auto& [known, v] : table) {
          if (known == name) value = v;
        }
        if (value != nullptr) {
          out += *value;
          i = close + 1;
          continue;
        }
      }
    }
    out += argument[i];
    ++i;
  }
  return out;
}

std::vector<std::string> step_argv(const common::Step& step, const DeployVars& vars) {
  if (step.shell) {
    // $0 names the step in the shell's own error messages ("deploy-step-build: line 3: ...").
    return {"/bin/sh", "-c", step.run.front(), "deploy-step-" + step.name};
  }
  std::vector<std::string> argv;
  argv.reserve(step.run.size());
  for (const auto& argument : step.run) argv.push_back(expand_argument(argument, vars));
  return argv;
}

std::string display_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& argument : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !argument.empty() &&
                 argument.find_first_of(" \t\n'\"\\$`;&|<>(){}*?[]#~") == std::string::npos;
    if (plain) {
      out += argument;
      continue;
    }
    out += '\'';
    for (char c : argument) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

}  // namespace deployer
