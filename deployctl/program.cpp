// program.cpp: the skeleton described in program.hpp, on common::run_main.
#include "deployctl/program.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log.hpp"

namespace deployctl {
namespace {

constexpr std::string_view kProgram = "deployctl";
constexpr std::string_view kFooter =
    "Exit status: 0 ok, 1 error, 2 usage error. Docs: docs/replay.md, docs/operations.md";

void add_commands(CLI::App& app, Context& context) {
  app.description("The deploy pipeline's operator command");
  app.footer(std::string(kFooter));
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
  // Each subcommand's --help lists --config (the root's, accepted after the subcommand through
  // fallthrough, would not show there) and ends with the exit statuses, after its own footer.
  for (CLI::App* command : app.get_subcommands({})) {
    command
        ->add_option("--config", context.options.config_path,
                     "configuration file (default: $DEPLOYER_CONFIG, else config/deployer.json)")
        ->type_name("FILE");
    const std::string own = command->get_footer();
    if (own != kFooter)
      command->footer(own.empty() ? std::string(kFooter) : own + "\n" + std::string(kFooter));
  }
}

}  // namespace

int run_program(int argc, char** argv) {
  if (std::getenv("DEPLOY_LOG_LEVEL") == nullptr) common::log::set_level(common::log::Level::error);
  Context context;
  return common::run_main(
      kProgram, argc, argv, [&context](CLI::App& app) { add_commands(app, context); },
      [&context] { return context.action(); });
}

}  // namespace deployctl
