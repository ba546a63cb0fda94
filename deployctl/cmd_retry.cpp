// cmd_retry.cpp: `deployctl retry DEPLOYMENT [ENTRY...]`: moves failed entries of a deployment
// from failed/DEPLOYMENT/ back into queues/DEPLOYMENT/ (all of them, oldest first, when no ENTRY
// is named), and prints one line per entry moved.
//
// Contract, per entry: queue_layout::move_entry (link into the queue, fsync, unlink from
// failed/, fsync), so a crash leaves the entry in failed/, in the queue, or both (running retry
// again finishes the move), never in neither. Only then is failed/<entry>.error.json removed
// (durably): the failure it describes is kept in the run log (logs/DEPLOYMENT/<entry>.log) and the
// ledger, and a report left behind would outlive the entry (failed/ is never pruned) or be
// mistaken for the retried run's. A crash between the two leaves an orphan report, harmless. Every
// named entry is checked before anything moves: a typo moves nothing. An entry keeps its name, so
// it sorts before entries that arrived after it; the deployer treats it as an operator's request
// (always deployed, never superseded or stale). Quarantined files with other names (with a
// .reason) are not entries and cannot be retried: fix them and drop them into the queue by hand.
#include <iostream>

#include "deployctl/actions.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"
#include "queue-layout/scan.hpp"

namespace deployctl {
namespace {

struct RetryOptions {
  std::string deployment;
  std::vector<std::string> entries;
};

int run_retry(const Context& context, const RetryOptions& options) {
  std::vector<std::string> names;
  for (const auto& value : options.entries) names.push_back(entry_argument(value, "ENTRY"));
  const common::Config config = load(context);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  const auto moved = retry_failed(config, deployment, std::move(names), [](const auto& name) {
    std::cout << "retrying " << name << "\n";
  });
  const auto failed = layout_of(config).failed(deployment.name);
  if (moved.empty()) std::cout << "no failed entries in " << failed.string() << "\n";
  // Quarantined files are not entries, so they stay: say so, and what to do with them.
  queue_layout::Listing left;
  queue_layout::list_entries(failed, left);
  if (!left.strays.empty()) {
    std::cerr << "deployctl: note: " << left.strays.size() << " quarantined file(s) left in "
              << failed.string()
              << " (not entries: read each <name>.reason, fix the file and drop it into the "
                 "queue, or delete both; docs/replay.md)\n";
  }
  return 0;
}

}  // namespace

void add_retry(CLI::App& app, Context& context) {
  auto options = std::make_shared<RetryOptions>();
  CLI::App* command = app.add_subcommand(
      "retry", "Move failed entries back into the deployment's queue (all when none is named)");
  command->add_option("DEPLOYMENT", options->deployment, "the deployment (a key of deployments)")
      ->required();
  command->add_option("ENTRY", options->entries,
                      "entries of failed/DEPLOYMENT/ to retry (default: all, oldest first)");
  command->callback([&context, options] {
    context.action = [&context, options] { return run_retry(context, *options); };
  });
  command->footer(
      "Each entry's .error.json is removed once it is back in the queue; the failure "
      "stays in `deployctl logs` and the ledger.");
}

}  // namespace deployctl
