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
#include <system_error>

#include "common/entry.hpp"
#include "common/validate.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"

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
  const std::string ref = options.ref.empty() ? "refs/heads/" + deployment.branch : options.ref;
  const std::string text =
      common::write_replay_entry(deployment.repository, ref, options.sha, requesting_user());

  const queue_layout::Layout layout = layout_of(config);
  // The same folders every program creates at start: an entry queued before the pipeline first
  // ran waits for its deployer instead of failing here.
  if (auto ec = queue_layout::ensure_layout(layout, {deployment.name}); ec) {
    throw Failure("cannot create the state directory " + layout.root().string() + ": " +
                  ec.message());
  }
  const auto queue = layout.queue(deployment.name);
  queue_layout::NameClock clock;
  for (int attempt = 0;; ++attempt) {
    const std::string name = clock.next("replay-" + queue_layout::process_uniquifier());
    const std::error_code ec = queue_layout::publish(queue, name, text);
    if (!ec) {
      if (!deployment.enabled) {
        std::cerr << "deployctl: note: deployment " << deployment.name
                  << " is disabled: no deployer runs for it until it is enabled\n";
      }
      std::cout << name << "\n";
      return 0;
    }
    // publish never replaces a file: a name taken by someone else is retried with the next one.
    if (ec == std::errc::file_exists && attempt < 5) continue;
    throw Failure("cannot publish " + name + " into " + queue.string() + ": " + ec.message());
  }
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
