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
// Contract: when the name is printed the entry is durable in the queue (queue_layout::publish).
#include <algorithm>
#include <cctype>
#include <iostream>
#include <system_error>

#include "common/release_layout.hpp"
#include "common/rollback_entry.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/follow.hpp"
#include "deployctl/lookup.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"

namespace deployctl {
namespace {

struct RollbackOptions {
  std::string deployment;
  std::string to;
  bool wait = false;
  int timeout_s = 300;
};

std::string publish_rollback(const common::Config& config, const common::Deployment& deployment,
                             const std::string& text) {
  const queue_layout::Layout layout = layout_of(config);
  if (auto ec = queue_layout::ensure_layout(layout, {deployment.name}); ec) {
    throw Failure("cannot create the state directory " + layout.root().string() + ": " +
                  ec.message());
  }
  const auto queue = layout.queue(deployment.name);
  queue_layout::NameClock clock;
  for (int attempt = 0;; ++attempt) {
    const std::string name = clock.next("rollback-" + queue_layout::process_uniquifier());
    const std::error_code ec = queue_layout::publish(queue, name, text);
    if (!ec) return name;
    // publish never replaces a file: a name taken by someone else is retried with the next one.
    if (ec == std::errc::file_exists && attempt < 5) continue;
    throw Failure("cannot publish " + name + " into " + queue.string() + ": " + ec.message());
  }
}

int run_rollback(const Context& context, RollbackOptions options) {
  std::optional<std::string> to;
  if (!options.to.empty()) {
    // Commit ids are case-insensitive for people (copied from a web page); git writes lowercase.
    if (!common::valid_rollback_target(options.to)) {
      std::transform(options.to.begin(), options.to.end(), options.to.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    if (!common::valid_rollback_target(options.to)) {
      throw UsageError(
          "--to: must be a release name (see deployctl releases) or a commit id (7 to 64 hex "
          "digits)");
    }
    to = options.to;
  }
  const common::Config config = load(context);
  common::refuse_root_unless_allowed(config);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  if (!deployment.releases) {
    throw Failure("deployment " + deployment.name +
                  " is not in release mode (no \"releases\"): roll back with `deployctl enqueue " +
                  deployment.name + " --sha <older commit>`");
  }
  const common::ReleaseLayout releases(deployment.path);
  std::error_code ec;
  const auto live = releases.live(ec);
  if (ec) throw Failure(releases.current().string() + ": " + ec.message());
  auto target = common::rollback_target(releases, to, live);
  if (!target.ok()) throw Failure(target.error().message);
  const std::string name =
      publish_rollback(config, deployment,
                       common::write_rollback_entry(deployment.repository, to, requesting_user()));
  std::cout << name << std::endl;  // flushed: a script reading it may wait on the rest
  std::cerr << "deployctl: rollback of " << deployment.name << " to release " << *target << " ("
            << releases.revision(*target).substr(0, 12) << ") queued\n";
  if (!options.wait) return 0;
  const auto result =
      follow_entry(config, deployment, name, std::chrono::seconds(options.timeout_s),
                   [](Stage stage) { std::cerr << "... " << describe(stage) << "\n"; });
  if (result.deployed) {
    std::cerr << "rolled back; the run's log: deployctl logs " << deployment.name << " " << name
              << "\n";
    return 0;
  }
  throw Failure("rollback " + name + " did not succeed: " + std::string(describe(result.stage)) +
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
      "steps and the health check run.");
}

}  // namespace deployctl
