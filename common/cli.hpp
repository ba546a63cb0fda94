// cli.hpp: the program skeleton shared by receiver, router, deployer and deployctl.
//
// A main stays a few lines long:
//
//   int main(int argc, char** argv) {
//     common::StandardOptions options;
//     return common::run_main("receiver", argc, argv,
//         [&](CLI::App& app) {
//           app.description("Receives GitHub webhooks");
//           common::add_standard_options(app, options);
//         },
//         [&] { return receiver::run(common::load_program_config(options)); });
//   }
//
// run_main names the program in log lines, builds the CLI::App (with fallthrough, so options of
// the root app such as --config are accepted after a subcommand too), parses the command line
// and runs the body. --help and --version print to stdout and return 0. Every failure prints
// exactly one line on stderr, "<program>: error: <message>", with control characters escaped,
// and returns kUsageError (2) for a wrong command line (CLI11's parse errors, and a UsageError
// thrown by the body for what CLI11 cannot check), 1 for anything else (a ConfigError, any
// exception escaping the body). deployctl runs on it too.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "common/config.hpp"

namespace common {

struct StandardOptions {
  std::string config_path;  ///< empty: default_config_path()
  std::string host;         ///< --host NAME; empty: $DEPLOY_HOST, "host", the system's name
};

/// Adds --config FILE, --host NAME and --version (prints "<program> <version>", the app's name).
void add_standard_options(CLI::App& app, StandardOptions& options);

/// The configuration file the options name, or default_config_path().
std::filesystem::path config_path_for(const StandardOptions& options);

/// load_config(config_path_for(options), {options.host}). Throws ConfigError.
Config load_config_for(const StandardOptions& options);

/// Everything is meant to run as the unprivileged deploy user. When the effective user is root
/// and neither config.allow_root nor the environment variable DEPLOY_ALLOW_ROOT=1 allows it,
/// throws std::runtime_error saying so.
void refuse_root_unless_allowed(const Config& config);

/// What a long-running program loads at start and again on SIGHUP: load_config_for(options),
/// then refuse_root_unless_allowed. Throws ConfigError or std::runtime_error.
Config load_program_config(const StandardOptions& options);

/// The exit status of a command line the program cannot parse.
inline constexpr int kUsageError = 2;

/// A command line that is wrong in a way CLI11 cannot see (a malformed sha, an unknown
/// deployment given as an argument): run_main prints it with "(see --help)" and returns
/// kUsageError.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

/// See the file comment. `setup` declares options; `body` runs after a successful parse and
/// returns the exit status.
int run_main(std::string_view program, int argc, char** argv,
             const std::function<void(CLI::App&)>& setup, const std::function<int()>& body);

}  // namespace common
