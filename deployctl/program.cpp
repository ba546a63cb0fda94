// program.cpp: the skeleton described in program.hpp.
#include "deployctl/program.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "common/log.hpp"
#include "common/write_all.hpp"

namespace deployctl {
namespace {

constexpr std::string_view kProgram = "deployctl";

// One line, one write(2), control characters escaped: a message built from a file name or a
// remote's answer cannot forge a second line.
void print_error(std::string_view message) {
  const std::string line =
      std::string(kProgram) + ": error: " + common::log::escape_text(message) + "\n";
  (void)common::write_all(STDERR_FILENO, line);
}

void add_commands(CLI::App& app, Context& context) {
  app.description("The deploy pipeline's operator command");
  app.fallthrough();  // --config is accepted after the subcommand too
  app.footer("Exit status: 0 ok, 1 error, 2 usage error. Docs: docs/replay.md, docs/operations.md");
  common::add_standard_options(app, context.options);
  app.require_subcommand(1);
  add_status(app, context);
  add_enqueue(app, context);
  add_retry(app, context);
  add_rollback(app, context);
  add_releases(app, context);
  add_logs(app, context);
  add_send_test_push(app, context);
  add_check_config(app, context);
  add_notify_test(app, context);
  add_migrate(app, context);
  add_hash_password(app, context);
}

}  // namespace

int run_program(int argc, char** argv) {
  common::log::set_program(kProgram);
  if (std::getenv("DEPLOY_LOG_LEVEL") == nullptr) common::log::set_level(common::log::Level::error);
  try {
    Context context;
    CLI::App app{"", std::string(kProgram)};
    add_commands(app, context);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      // --help and --version arrive as "errors" with exit code 0: print them normally.
      if (e.get_exit_code() == 0) return app.exit(e);
      print_error(std::string(e.what()) + " (see --help)");
      return 2;
    }
    try {
      return context.action();
    } catch (const UsageError& e) {
      print_error(std::string(e.what()) + " (see --help)");
      return 2;
    }
  } catch (const std::exception& e) {
    print_error(e.what());
  } catch (...) {
    print_error("unexpected exception");
  }
  return 1;
}

}  // namespace deployctl
