// cmd_status.cpp: `deployctl status [--json]`: per deployment the queue, the active entry and
// for how long, the last success and failure, the failed entries waiting; the inbox and
// rejected counts. Reads only (status_report.hpp). Exit 0 even when the ledger is unreachable
// (the folders are shown, with a note); 1 when the configuration cannot be loaded.
#include <iostream>

#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"
#include "deployctl/status_report.hpp"

namespace deployctl {
namespace {

struct StatusOptions {
  bool json = false;
};

int run_status(const Context& context, const StatusOptions& options) {
  const common::Config config = load(context);
  const StatusReport report = gather_status(config);
  if (options.json) {
    std::cout << to_json(report).dump(2) << "\n";
  } else {
    std::cout << to_text(report);
  }
  return 0;
}

}  // namespace

void add_status(CLI::App& app, Context& context) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* command =
      app.add_subcommand("status", "Queues, active entries and last outcomes of every deployment");
  command->add_flag("--json", options->json,
                    "print JSON with stable keys (docs/operations.md lists them)");
  command->callback([&context, options] {
    context.action = [&context, options] { return run_status(context, *options); };
  });
}

}  // namespace deployctl
