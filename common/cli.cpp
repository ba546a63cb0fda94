// cli.cpp: run_main's error contract, the standard options and the root check.
#include "common/cli.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/log.hpp"
#include "common/version.hpp"
#include "common/write_all.hpp"

namespace common {
namespace {

// One line, one write(2): the last thing a failing program says must not be split or garbled.
void print_error(std::string_view program, std::string_view message) {
  const std::string line =
      log::escape_text(program) + ": error: " + log::escape_text(message) + "\n";
  (void)write_all(STDERR_FILENO, line);  // stderr gone: nothing is left to report to
}

}  // namespace

void add_standard_options(CLI::App& app, StandardOptions& options) {
  app.add_option("--config", options.config_path,
                 "configuration file (default: $DEPLOYER_CONFIG, else config/deployer.json)")
      ->type_name("FILE");
  app.add_option("--host", options.host,
                 "this machine's name in the configuration's hosts (default: $DEPLOY_HOST, else "
                 "the key \"host\", else the system's host name)")
      ->type_name("NAME");
  app.set_version_flag("--version", app.get_name() + " " + std::string(common::version),
                       "print the program's version and exit");
}

std::filesystem::path config_path_for(const StandardOptions& options) {
  return options.config_path.empty() ? default_config_path()
                                     : std::filesystem::path(options.config_path);
}

Config load_config_for(const StandardOptions& options) {
  return load_config(config_path_for(options), LoadOptions{options.host});
}

Config load_program_config(const StandardOptions& options) {
  Config config = load_config_for(options);
  refuse_root_unless_allowed(config);
  return config;
}

void refuse_root_unless_allowed(const Config& config) {
  if (::geteuid() != 0 || config.allow_root) return;
  const char* env = std::getenv("DEPLOY_ALLOW_ROOT");
  if (env != nullptr && std::string_view(env) == "1") return;
  throw std::runtime_error(
      "refusing to run as root: run as the unprivileged deploy user (or set \"allow_root\": true "
      "in " +
      config.file.string() + ", or DEPLOY_ALLOW_ROOT=1)");
}

int run_main(std::string_view program, int argc, char** argv,
             const std::function<void(CLI::App&)>& setup, const std::function<int()>& body) {
  log::set_program(program);
  try {
    CLI::App app{"", std::string(program)};
    app.fallthrough();
    setup(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      // --help and --version are "errors" with exit code 0: print them normally.
      if (e.get_exit_code() == 0) return app.exit(e);
      print_error(program, std::string(e.what()) + " (see --help)");
      return kUsageError;
    }
    return body();
  } catch (const UsageError& e) {
    print_error(program, std::string(e.what()) + " (see --help)");
    return kUsageError;
  } catch (const std::exception& e) {
    print_error(program, e.what());
  } catch (...) {
    print_error(program, "unexpected exception");
  }
  return 1;
}

}  // namespace common
