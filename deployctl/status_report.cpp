// status_report.cpp: gather_status, the folders first, then the ledger (see status_report.hpp).
#include "deployctl/status_report.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <system_error>

#include "common/entry.hpp"
#include "common/hosts.hpp"
#include "common/ledger/ledger.hpp"
#include "common/ledger/rollouts.hpp"
#include "common/release_layout.hpp"
#include "common/secrets.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"

namespace deployctl {
namespace {

namespace fs = std::filesystem;

// A folder nobody created yet (no program has started) is empty, not an error.
queue_layout::Listing list(const fs::path& dir, std::vector<std::string>& notes) {
  queue_layout::Listing listing;
  const std::error_code ec = queue_layout::list_entries(dir, listing);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    notes.push_back("cannot list " + dir.string() + ": " + ec.message());
  }
  return listing;
}

// rejected/ holds whatever the router could not use, whatever its name, each with a ".reason"
// beside it: count the files, not their reasons (nor dot-temporaries being published).
std::size_t count_rejected(const fs::path& dir, std::vector<std::string>& notes) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  std::size_t count = 0;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.') || name.ends_with(".reason")) continue;
    ++count;
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    notes.push_back("cannot list " + dir.string() + ": " + ec.message());
  }
  return count;
}

// The entry being deployed: what it deploys comes from the file itself, so this works without
// the ledger. Linking it into active/ set its ctime: the moment the deployer took it.
ActiveEntry read_active(const fs::path& dir, const std::string& name, std::size_t max_bytes) {
  ActiveEntry active;
  active.entry = name;
  std::string text;
  if (!queue_layout::read_entry(dir, name, max_bytes, text)) {
    if (auto entry = common::parse_entry(text); entry.ok()) {
      if (auto push = common::parse_push(entry->payload); push.ok()) {
        active.sha = push->after;
        active.ref = push->ref;
      }
    }
  }
  struct stat st {};
  if (::lstat((dir / name).c_str(), &st) == 0) {
    active.since = Time(std::chrono::duration_cast<Time::duration>(
        std::chrono::seconds(st.st_ctim.tv_sec) + std::chrono::nanoseconds(st.st_ctim.tv_nsec)));
  }
  return active;
}

DeploymentStatus read_folders(const queue_layout::Layout& layout, const common::Config& config,
                              const common::Deployment& deployment, std::size_t max_bytes,
                              std::vector<std::string>& notes) {
  DeploymentStatus status;
  status.name = deployment.name;
  status.ledger_name = common::ledger_name(deployment, config.host);
  if (common::on_several_hosts(deployment)) {
    for (const auto& target : deployment.hosts) {
      HostStatus host;
      host.name = target.name;
      host.ledger_name = common::ledger_name(deployment, target.name);
      host.this_host = target.name == config.host;
      status.hosts.push_back(std::move(host));
    }
  }
  status.repository = deployment.repository;
  status.branch = deployment.branch;
  status.enabled = deployment.enabled;
  auto queue = list(layout.queue(deployment.name), notes);
  status.queued = std::move(queue.entries);
  status.queue_strays = std::move(queue.strays);
  const auto active = list(layout.active(deployment.name), notes);
  if (!active.entries.empty()) {
    status.active = read_active(layout.active(deployment.name), active.entries.front(), max_bytes);
  }
  auto failed = list(layout.failed(deployment.name), notes);
  status.failed = std::move(failed.entries);
  status.failed_strays = std::move(failed.strays);
  status.done = list(layout.done(deployment.name), notes).entries.size();
  if (deployment.releases) {
    const common::ReleaseLayout releases(deployment.path);
    ReleaseStatus release;
    std::error_code ec;
    release.live = releases.live(ec);
    if (ec) notes.push_back(releases.current().string() + ": " + ec.message());
    if (release.live) release.commit = releases.revision(*release.live);
    release.kept = releases.complete(ec).size();
    status.releases = std::move(release);
  }
  return status;
}

// libpq's messages end with newlines and may hold several lines: the note is one line.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "; ";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

// The release `run` made live: the release row of that run, else (a rollback switches to an
// existing release) the newest deployed, still kept release of its commit.
std::optional<std::string> release_of(const std::vector<ledger::Release>& releases,
                                      const ledger::Run& run) {
  for (const auto& release : releases) {
    if (release.run == run.id) return release.name;
  }
  for (const auto& release : releases) {  // newest first
    if (release.sha == run.sha && release.outcome == ledger::ReleaseOutcome::deployed &&
        !release.removed_at) {
      return release.name;
    }
  }
  return std::nullopt;
}

// Each host's part of a deployment on several hosts, and its newest rollout.
void read_hosts(ledger::Ledger& ledger, std::unique_ptr<ledger::Rollouts>& rollouts,
                const common::Config& config, DeploymentStatus& deployment) {
  if (deployment.hosts.empty()) return;
  const bool release_mode = config.deployments.at(deployment.name).releases.has_value();
  for (auto& host : deployment.hosts) {
    auto history = ledger.history(host.ledger_name, 1);
    host.last_success = std::move(history.last_success);
    if (!history.recent.empty()) host.last_run = std::move(history.recent.front());
    if (release_mode && host.last_success) {
      host.live_release = release_of(ledger.releases(host.ledger_name), *host.last_success);
    }
  }
  if (!rollouts) rollouts = std::make_unique<ledger::Rollouts>(common::database_url(config));
  auto recent = rollouts->recent(deployment.name, 1);
  if (!recent.empty()) deployment.rollout = std::move(recent.front());
}

// The ledger's part. Every failure becomes the note: status is what an operator runs when
// something is wrong, so it must still show the folders when the database is the problem.
void read_ledger(const common::Config& config, StatusReport& report) {
  // An unreachable host over TCP would otherwise hang for the kernel's connect timeout.
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);
  try {
    ledger::Ledger ledger(common::database_url(config));
    ledger.require_schema();
    std::unique_ptr<ledger::Rollouts> rollouts;  // connects only for a deployment on several hosts
    for (auto& deployment : report.deployments) {
      read_hosts(ledger, rollouts, config, deployment);
      auto history = ledger.history(deployment.ledger_name, 5);
      deployment.last_success = std::move(history.last_success);
      deployment.last_failure = std::move(history.last_failure);
      deployment.last_skipped = std::move(history.last_skipped);
      deployment.recent = std::move(history.recent);
      if (!deployment.active) continue;
      if (const auto item = ledger.queue_item(deployment.ledger_name, deployment.active->entry)) {
        deployment.active->state = std::string(ledger::to_string(item->state));
        deployment.active->attempt = item->attempt;
        deployment.active->next_attempt_at = item->next_attempt_at;
        deployment.active->checks_deadline = item->checks_deadline;
        if (item->state == ledger::QueueState::waiting ||
            item->state == ledger::QueueState::retrying) {
          deployment.active->reason = item->reason;
        }
      }
      for (const auto& run : deployment.recent) {
        if (run.entry_name == deployment.active->entry && !run.finished_at) {
          deployment.active->since = run.started_at;
          deployment.active->run_id = run.id;
          break;
        }
      }
    }
    report.database_reachable = true;
  } catch (const std::exception& e) {
    report.database_reachable = false;
    report.database_note = one_line(e.what());
    for (auto& deployment : report.deployments) {
      deployment.last_success.reset();
      deployment.last_failure.reset();
      deployment.last_skipped.reset();
      deployment.recent.clear();
      for (auto& host : deployment.hosts) {
        host.last_run.reset();
        host.last_success.reset();
        host.live_release.reset();
      }
      deployment.rollout.reset();
    }
  }
}

}  // namespace

StatusReport gather_status(const common::Config& config) {
  StatusReport report;
  report.instance = config.instance;
  report.host = config.host;
  report.state_dir = config.state_dir.string();
  report.generated_at = std::chrono::system_clock::now();
  const queue_layout::Layout layout(config.state_dir);
  std::error_code ec;
  if (!fs::is_directory(config.state_dir, ec)) {
    report.notes.push_back("the state directory " + config.state_dir.string() +
                           " does not exist yet: no program has started with this configuration");
  }
  const auto inbox = list(layout.inbox(), report.notes);
  report.inbox = inbox.entries.size() + inbox.strays.size();
  report.rejected = count_rejected(layout.rejected(), report.notes);
  const std::size_t max_bytes = common::max_entry_bytes(config.receiver.body_limit_bytes);
  for (const auto& [name, deployment] : config.deployments) {
    report.deployments.push_back(read_folders(layout, config, deployment, max_bytes, report.notes));
  }
  read_ledger(config, report);
  return report;
}

}  // namespace deployctl
