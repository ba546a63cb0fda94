// cmd_check_config.cpp: `deployctl check-config`: loads and validates the configuration exactly
// as the programs do, and prints it resolved (every default filled in, every path absolute) as
// JSON, secrets shown only as where they come from (common::to_json_masked), never their value.
// Then one line per secret source on stderr saying whether it is set, since a valid file with
// an unset WEBHOOK_SECRET still keeps the receiver from starting. Exit 0 for a valid file (even
// with a secret unset: the secrets may live only in the PM2 daemon's environment), 1 otherwise
// with the "<file>: <key.path>: <what is wrong>" line. Last, one line naming the resolved host
// (docs/hosts.md) and which deployments run on it.
#include <iostream>

#include "common/secrets.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

void describe_secret(const std::string& use, const common::SecretSource& source, bool required) {
  std::string state;
  try {
    state = common::read_secret(source) ? "set" : (required ? "NOT SET" : "not set");
  } catch (const std::exception& e) {
    state = std::string("unreadable: ") + e.what();
  }
  std::cerr << "deployctl: " << use << " (" << source.describe() << "): " << state << "\n";
}

int run_check_config(const Context& context) {
  const common::Config config = load(context);
  std::cout << common::to_json_masked(config).dump(2) << "\n";
  for (const auto& source : config.webhook_secrets) describe_secret("webhook secret", source, true);
  for (const auto& [name, deployment] : config.deployments) {
    for (const auto& source : deployment.webhook_secrets) {
      describe_secret("webhook secret of " + deployment.repository + " (deployment " + name + ")",
                      source, true);
    }
  }
  describe_secret("database url", config.database_url, true);
  describe_secret("github token", config.github.token, false);
  // Which host this is decides the state folder and the deployers (docs/hosts.md).
  std::string here, elsewhere;
  for (const auto& [name, deployment] : config.deployments) {
    auto& list = deployment.runs_on(config.host) ? here : elsewhere;
    list += (list.empty() ? "" : ", ") + name;
  }
  std::cerr << "deployctl: host " << config.host << " (from " << config.host_from
            << "); deployments here: " << (here.empty() ? "none" : here)
            << "; only on other hosts: " << (elsewhere.empty() ? "none" : elsewhere) << "\n";
  return 0;
}

}  // namespace

void add_check_config(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand(
      "check-config", "Validate the configuration and print it resolved, secrets masked");
  command->callback(
      [&context] { context.action = [&context] { return run_check_config(context); }; });
}

}  // namespace deployctl
