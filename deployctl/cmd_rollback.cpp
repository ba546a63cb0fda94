// cmd_rollback.cpp: `deployctl rollback DEPLOYMENT [--to SHA|RELEASE] [--wait]`: asks the
// deployer of a release-mode deployment to switch back to an earlier kept release without
// rebuilding it, by publishing a rollback entry (common/rollback_entry.hpp) into
// queues/DEPLOYMENT/. The deployer takes it in its turn (never overlapping a deploy), switches
// `current`, runs the activate steps and the health check, and records a rollback; a webhook
// push of the rolled-back-from commit does not undo it (docs/replay.md).
//
// Without --to the target is the kept release before the live one; --to names a release folder
// or a commit (full, or a prefix of at least 7 hex digits of a kept release's commit). The
// target is checked here against the folders for a clear error, and again by the deployer when
// the entry runs. Prints the entry's name; with --wait, follows it and exits 0 once the
// rollback succeeded, 1 when it failed (with the reason).
//
// On several hosts (docs/hosts.md) the entry names the target's commit, which each host resolves
// to its own release (release names differ between hosts), and the same entry (one name, the same
// bytes) reaches every host: the other hosts through the ledger's fan-out, this one directly.
// Each host's deployer runs it as one rollout, switching the hosts the rolling way.
//
// Contract: when the name is printed the entry is durable in the queue (queue_layout::publish),
// and on several hosts recorded in the ledger for the other hosts.
// The check and the write are deployctl::enqueue_rollback (actions.hpp), shared with the
// dashboard's rollback button.
#include <iostream>

#include "common/hosts.hpp"
#include "deployctl/actions.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/follow.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

struct RollbackOptions {
  std::string deployment;
  std::string to;
  bool wait = false;
  int timeout_s = 300;
};

int run_rollback(const Context& context, const RollbackOptions& options) {
  const common::Config config = load(context);
  common::refuse_root_unless_allowed(config);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  const auto queued = enqueue_rollback(config, deployment, options.to, requesting_user());
  std::cout << queued.entry << std::endl;  // flushed: a script reading it may wait on the rest
  std::cerr << "deployctl: rollback of " << deployment.name << " to release " << queued.release
            << " (" << queued.commit.substr(0, 12) << ") queued";
  if (common::on_several_hosts(deployment)) {
    std::string hosts;
    for (const auto& host : deployment.hosts) hosts += (hosts.empty() ? "" : ", ") + host.name;
    std::cerr << " on " << hosts << " (each to its own release of that commit, one host at a time)";
  }
  std::cerr << "\n";
  if (!options.wait) return 0;
  const auto result =
      follow_entry(config, deployment, queued.entry, std::chrono::seconds(options.timeout_s),
                   [](Stage stage) { std::cerr << "... " << describe(stage) << "\n"; });
  if (result.deployed) {
    std::cerr << "rolled back; the run's log: deployctl logs " << deployment.name << " "
              << queued.entry << "\n";
    return 0;
  }
  throw Failure("rollback " + queued.entry +
                " did not succeed: " + std::string(describe(result.stage)) +
                (result.detail.empty() ? "" : ": " + result.detail));
}

}  // namespace

void add_rollback(CLI::App& app, Context& context) {
  auto options = std::make_shared<RollbackOptions>();
  CLI::App* command = app.add_subcommand(
      "rollback", "Switch a release-mode deployment back to an earlier kept release");
  command->add_option("DEPLOYMENT", options->deployment, "the deployment (a key of deployments)")
      ->required();
  command->add_option("--to", options->to,
                      "the release (a name from `deployctl releases`) or commit to go back to "
                      "(default: the release before the live one)");
  command->add_flag("--wait", options->wait,
                    "wait until the rollback is done (exit 1 if it fails)");
  command->add_option("--timeout", options->timeout_s, "seconds --wait waits at most (default 300)")
      ->check(CLI::Range(1, 86400));
  command->callback([&context, options] {
    context.action = [&context, options] { return run_rollback(context, *options); };
  });
  command->footer(
      "No rebuild: the release's folder is switched to as it is, then the activate "
      "steps and the health check run. On several hosts (docs/hosts.md) every host rolls back "
      "to its own release of the target's commit, one rollout; the ledger must be reachable.");
}

}  // namespace deployctl
