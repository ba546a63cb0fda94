// cmd_enqueue.cpp: `deployctl enqueue DEPLOYMENT --sha SHA [--ref REF] [--wait] [--no-check]`:
// asks for a deploy of an exact commit (a replay, or a rollback to an older one) by publishing a
// replay entry (common::write_replay_entry) into queues/DEPLOYMENT/. Prints the entry's name on
// stdout; with --wait, follows it (progress and outcome on stderr) and exits 0 once deployed.
//
// The commit is looked up first in the deployment's own copy of the repository (git_info.hpp):
// a mistyped id is refused at once instead of failing later in the deployer. A commit pushed
// since the last deploy is not there yet: --no-check skips the lookup (the deployer fetches).
//
// Contract: when it prints the name and exits 0, the entry is durable in the queue
// (queue_layout::publish: temporary, fsync, rename without replacing, folder fsync); a crash or
// an error before that leaves at most a dot-temporary, which readers ignore and the deployer
// removes at its next start. An operator's entry is always deployed (never skipped as stale or
// superseded), in arrival order with the other entries of the queue. No queue item is recorded:
// the deployer records the entry (trigger "operator") when it takes it. On several hosts
// (docs/hosts.md) the same entry also goes to every other host of the deployment through the
// ledger's fan-out, first, so that all of them deploy it as one rollout.
#include <algorithm>
#include <cctype>
#include <iostream>

#include "common/validate.hpp"
#include "deployctl/actions.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/follow.hpp"
#include "deployctl/git_info.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

struct EnqueueOptions {
  std::string deployment;
  std::string sha;
  std::string ref;
  bool wait = false;
  bool no_check = false;
  unsigned timeout_s = 300;
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
  if (!options.no_check && commit_presence(deployment, options.sha) == CommitPresence::absent) {
    throw Failure("commit " + options.sha + " is not in " + deployment.name + "'s copy of " +
                  deployment.remote +
                  ": check the id (deployctl status and deployctl releases list deployed "
                  "commits), or add --no-check for a commit pushed since the last deploy");
  }
  const std::string name =
      enqueue_replay(config, deployment, options.sha, options.ref, requesting_user());
  if (!deployment.enabled) {
    std::cerr << "deployctl: note: deployment " << deployment.name
              << " is disabled: no deployer runs for it until it is enabled\n";
  }
  std::cout << name << std::endl;  // flushed: a script reading it may wait on the rest
  if (!options.wait) return 0;
  const FollowResult result = follow_entry(
      config, deployment, name, std::chrono::seconds(options.timeout_s), [](Stage stage) {
        if (stage == Stage::queued || stage == Stage::active) {
          std::cerr << "... " << describe(stage) << "\n";
        }
      });
  return report_outcome(result, deployment.name, name, options.timeout_s, std::cerr);
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
  command->add_flag("--wait", options->wait,
                    "follow the entry until it is deployed (exit 1 if it fails)");
  command->add_option("--timeout", options->timeout_s, "seconds --wait waits at most (default 300)")
      ->check(CLI::Range(1, 86400));
  command->add_flag("--no-check", options->no_check,
                    "do not look the commit up in the deployment's copy of the repository first");
  command->callback([&context, options] {
    context.action = [&context, options] { return run_enqueue(context, *options); };
  });
  command->footer(
      "The entry is always deployed, even if a newer commit is deployed already. The commit "
      "must be one the deployment has fetched (any earlier deploy's), unless --no-check.");
}

}  // namespace deployctl
