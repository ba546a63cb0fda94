// cmd_migrate.cpp: `deployctl migrate`: applies the ledger's pending migrations (built into the
// program) to the database named by the configuration (DATABASE_URL by default) and prints what
// it applied, or that the schema is up to date. Safe to run twice, and from two places at once
// (ledger::migrate takes an advisory lock); see common/ledger/migrations.hpp.
#include <iostream>

#include "common/ledger/migrations.hpp"
#include "common/secrets.hpp"
#include "deployctl/commands.hpp"

namespace deployctl {
namespace {

int run_migrate(const Context& context) {
  // What it did goes to stdout; the ledger's own log lines stay out (program.hpp).
  const common::Config config = common::load_config_for(context.options);
  const std::string url = common::database_url(config);
  const auto applied = ledger::migrate(url);
  if (applied.empty()) {
    std::cout << "ledger schema is up to date at version " << ledger::schema_version(url) << "\n";
    return 0;
  }
  for (const auto& migration : applied) {
    std::cout << "applied migration " << migration.name << "\n";
  }
  std::cout << "ledger schema is now at version " << applied.back().version << "\n";
  return 0;
}

}  // namespace

void add_migrate(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand("migrate", "Apply the ledger's database migrations");
  command->callback([&context] { context.action = [&context] { return run_migrate(context); }; });
}

}  // namespace deployctl
