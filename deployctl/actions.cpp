// actions.cpp: retry_failed, enqueue_replay and enqueue_rollback (actions.hpp). The contracts are
// described at the top of cmd_retry.cpp, cmd_enqueue.cpp and cmd_rollback.cpp.
#include "deployctl/actions.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "common/entry.hpp"
#include "common/hosts.hpp"
#include "common/ledger/fanout.hpp"
#include "common/release_layout.hpp"
#include "common/rollback_entry.hpp"
#include "common/secrets.hpp"
#include "common/validate.hpp"
#include "deployctl/commands.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/move.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/scan.hpp"

namespace deployctl {
namespace {

// The same folders every program creates at start: an entry queued before the pipeline first ran
// waits for its deployer instead of failing here.
void ensure_folders(const queue_layout::Layout& layout, const common::Deployment& deployment) {
  if (auto ec = queue_layout::ensure_layout(layout, {deployment.name}); ec) {
    throw Failure("cannot create the state directory " + layout.root().string() + ": " +
                  ec.message());
  }
}

// Publishes `text` as a new entry named <time>-<prefix>-<process> into queues/<deployment>/ and
// returns its name; durable when it returns (queue_layout::publish).
std::string publish_into_queue(const common::Config& config, const common::Deployment& deployment,
                               const std::string& prefix, const std::string& text) {
  const queue_layout::Layout layout(config.state_dir);
  ensure_folders(layout, deployment);
  const auto queue = layout.queue(deployment.name);
  queue_layout::NameClock clock;
  for (int attempt = 0;; ++attempt) {
    const std::string name = clock.next(prefix + "-" + queue_layout::process_uniquifier());
    const std::error_code ec = queue_layout::publish(queue, name, text);
    if (!ec) return name;
    // publish never replaces a file: a name taken by someone else is retried with the next one.
    if (ec == std::errc::file_exists && attempt < 5) continue;
    throw Failure("cannot publish " + name + " into " + queue.string() + ": " + ec.message());
  }
}

// An operator's entry of a deployment on several hosts starts in this host's queue (and a
// rollback's target is found in its folders): from a host the deployment does not run on, the
// command is refused.
void require_on_this_host(const common::Config& config, const common::Deployment& deployment,
                          const std::string& command) {
  if (!common::on_several_hosts(deployment) || deployment.runs_on(config.host)) return;
  throw Failure("deployment " + deployment.name + " does not run on this host (" + config.host +
                "): run deployctl " + command + " on one of its hosts, or with --host naming one");
}

// A deployment on several hosts: `text` as one entry, the same name and bytes, into the queue of
// every host of the deployment. The other hosts' copies go through the ledger's fan-out first
// (their routers publish them, docs/hosts.md "Fan-out"), then this host's queue: a ledger that
// cannot be reached fails the command before any host has the entry, so an entry never waits
// on this host for others that will never see it.
std::string publish_on_every_host(const common::Config& config,
                                  const common::Deployment& deployment, const std::string& prefix,
                                  const std::string& text) {
  const queue_layout::Layout layout(config.state_dir);
  ensure_folders(layout, deployment);
  const auto queue = layout.queue(deployment.name);
  const std::string name =
      queue_layout::NameClock().next(prefix + "-" + queue_layout::process_uniquifier());
  std::vector<ledger::FanoutTarget> targets;
  for (const auto& host : common::other_hosts(config, deployment)) {
    targets.push_back({deployment.name, host, common::ledger_name(deployment, host)});
  }
  try {
    ledger::Fanout(common::database_url(config)).send(targets, name, config.host, text);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw Failure(
        "cannot hand " + name + " to the other hosts of " + deployment.name +
        " through the ledger (nothing was queued anywhere): " + what.substr(0, what.find('\n')));
  }
  // The name has this process's uniquifier and the time in it: nobody else can have taken it,
  // and it cannot change now that the other hosts have it.
  if (const std::error_code ec = queue_layout::publish(queue, name, text); ec) {
    throw Failure("handed " + name + " to the other hosts of " + deployment.name +
                  ", but cannot publish it into " + queue.string() + ": " + ec.message());
  }
  return name;
}

}  // namespace

std::vector<std::string> retry_failed(const common::Config& config,
                                      const common::Deployment& deployment,
                                      std::vector<std::string> names,
                                      const std::function<void(const std::string&)>& moved) {
  // In release mode on several hosts an entry is one rollout across all of them, ended when it
  // failed (docs/hosts.md): moved back here alone, it would fail again at once. Its commit is
  // deployed again on every host as a new entry instead.
  if (common::on_several_hosts(deployment) && deployment.releases) {
    throw Failure("retry: " + deployment.name +
                  " rolls out on several hosts, where a failed entry failed on all of them; "
                  "deploy its commit again on every host with `deployctl enqueue " +
                  deployment.name + " --sha SHA`");
  }
  const queue_layout::Layout layout(config.state_dir);
  const auto failed = layout.failed(deployment.name);
  const auto queue = layout.queue(deployment.name);
  queue_layout::Listing listing;
  if (auto ec = queue_layout::list_entries(failed, listing);
      ec && ec != std::errc::no_such_file_or_directory) {
    throw Failure("cannot list " + failed.string() + ": " + ec.message());
  }
  if (names.empty()) names = listing.entries;
  if (names.empty()) return names;
  for (const auto& name : names) {
    if (!queue_layout::exists(failed, name)) {
      throw Failure("no failed entry " + name + " in " + failed.string());
    }
  }
  ensure_folders(layout, deployment);
  for (const auto& name : names) {
    if (auto ec = queue_layout::move_entry(failed, queue, name); ec) {
      throw Failure("cannot move " + name + " from " + failed.string() + " to " + queue.string() +
                    ": " + ec.message());
    }
    // After the move: removing the report first would leave a failed entry without its reason.
    const std::string report = queue_layout::error_name(name);
    if (auto ec = queue_layout::remove_entry(failed, report); ec) {
      throw Failure("moved " + name + " back into the queue, but cannot remove " +
                    (failed / report).string() + ": " + ec.message());
    }
    if (moved) moved(name);
  }
  return names;
}

std::string enqueue_replay(const common::Config& config, const common::Deployment& deployment,
                           const std::string& sha, const std::string& ref,
                           const std::string& user) {
  if (auto check = common::check_sha(sha); !check.ok()) {
    throw UsageError("--sha: " + check.error().message + " (give the full commit id)");
  }
  if (!ref.empty()) {
    if (auto check = common::check_ref(ref); !check.ok()) {
      throw UsageError("--ref: " + check.error().message);
    }
  }
  require_on_this_host(config, deployment, "enqueue");
  const std::string text = common::write_replay_entry(
      deployment.repository, ref.empty() ? "refs/heads/" + deployment.branch : ref, sha, user);
  // On several hosts every host deploys it, as one rollout: a copy on this host alone would
  // wait for the others.
  if (common::on_several_hosts(deployment)) {
    return publish_on_every_host(config, deployment, "replay", text);
  }
  return publish_into_queue(config, deployment, "replay", text);
}

QueuedRollback enqueue_rollback(const common::Config& config, const common::Deployment& deployment,
                                std::string to, const std::string& user) {
  std::optional<std::string> wanted;
  if (!to.empty()) {
    // Commit ids are case-insensitive for people (copied from a web page); git writes lowercase.
    if (!common::valid_rollback_target(to)) {
      std::transform(to.begin(), to.end(), to.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    if (!common::valid_rollback_target(to)) {
      throw UsageError(
          "--to: must be a release name (see deployctl releases) or a commit id (7 to 64 hex "
          "digits)");
    }
    wanted = to;
  }
  // The target is found in this host's release folders.
  require_on_this_host(config, deployment, "rollback");
  if (!deployment.releases) {
    throw Failure("deployment " + deployment.name +
                  " is not in release mode (no \"releases\"): roll back with `deployctl enqueue " +
                  deployment.name + " --sha <older commit>`");
  }
  // The target is checked here for a clear error now, and again by the deployer when the entry
  // runs (the kept releases may change in between).
  const common::ReleaseLayout releases(deployment.path);
  std::error_code ec;
  const auto live = releases.live(ec);
  if (ec) throw Failure(releases.current().string() + ": " + ec.message());
  auto target = common::rollback_target(releases, wanted, live);
  if (!target.ok()) throw Failure(target.error().message);
  QueuedRollback queued;
  queued.release = *target;
  queued.commit = releases.revision(*target);
  if (!common::on_several_hosts(deployment)) {
    queued.entry =
        publish_into_queue(config, deployment, "rollback",
                           common::write_rollback_entry(deployment.repository, wanted, user));
    return queued;
  }
  // On several hosts each host has its own release folders (their names differ), so the entry
  // names the target's commit, which every host resolves to its own release of that commit.
  if (!common::valid_sha(queued.commit)) {
    throw Failure("release " + queued.release + " has no valid commit in its REVISION (" +
                  releases.release(queued.release).string() + "/REVISION)");
  }
  queued.entry = publish_on_every_host(
      config, deployment, "rollback",
      common::write_rollback_entry(deployment.repository, queued.commit, user));
  return queued;
}

}  // namespace deployctl
