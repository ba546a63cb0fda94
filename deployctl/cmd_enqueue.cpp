// cmd_enqueue.cpp: `deployctl enqueue DEPLOYMENT --sha SHA [--ref REF]`: asks for a deploy of an
// exact commit (a replay, or a rollback to an older one) by publishing a replay entry
// (common::write_replay_entry) into queues/DEPLOYMENT/. Prints the entry's name on stdout.
//
// Contract: when it prints the name and exits 0, the entry is durable in the queue
// (queue_layout::publish: temporary, fsync, rename without replacing, folder fsync); a crash or
// an error before that leaves at most a dot-temporary, which readers ignore and the deployer
// removes at its next start. An operator's entry is always deployed (never skipped as stale or
// superseded), in arrival order with the other entries of the queue. The ledger is not touched:
// the deployer records the entry (trigger "operator") when it takes it.
#include <algorithm>
#include <cctype>
#include <iostream>

#include "common/validate.hpp"
#include "deployctl/actions.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

struct EnqueueOptions {
  std::string deployment;
  std::string sha;
  std::string ref;
};

int run_enqueue(const Context& context, EnqueueOptions options) {
  // Commit ids are case-insensitive for people (copied from a web page); git writes lowercase.
  std::transform(options.sha.begin(), options.sha.end(), options.sha.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (auto check = common::check_sha(options.sha); !check.ok()) {
    throw UsageError("--sha: " + check.error().message + " (give the full commit id)");
  }
  if (!options.ref.empty()) {
    if (auto check = common::check_ref(options.ref); !check.ok()) {
      throw UsageError("--ref: " + check.error().message);
    }
  }
  const common::Config config = load(context);
  // An entry written by root is a 0600 file the deployer's user cannot read.
  common::refuse_root_unless_allowed(config);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  const std::string name =
      enqueue_replay(config, deployment, options.sha, options.ref, requesting_user());
  if (!deployment.enabled) {
    std::cerr << "deployctl: note: deployment " << deployment.name
              << " is disabled: no deployer runs for it until it is enabled\n";
  }
  std::cout << name << "\n";
  return 0;
}

}  // namespace

void add_enqueue(CLI::App& app, Context& context) {
  auto options = std::make_shared<EnqueueOptions>();
  CLI::App* command = app.add_subcommand(
      "enqueue", "Queue a deploy of an exact commit (replay, rollback); prints the entry name");
  command->add_option("DEPLOYMENT", options->deployment, "the deployment (a key of deployments)")
      ->required();
  command->add_option("--sha", options->sha, "the full commit id to deploy (40 or 64 hex digits)")
      ->required();
  command->add_option("--ref", options->ref,
                      "the ref it belongs to (default: refs/heads/<the deployment's branch>)");
  command->callback([&context, options] {
    context.action = [&context, options] { return run_enqueue(context, *options); };
  });
  command->footer("The entry is always deployed, even if a newer commit is deployed already.");
}

}  // namespace deployctl
