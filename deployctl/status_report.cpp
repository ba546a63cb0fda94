// status_report.cpp: gather_status, the folders first, then the ledger (see status_report.hpp).
#include "deployctl/status_report.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "common/entry.hpp"
#include "common/ledger/ledger.hpp"
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

DeploymentStatus read_folders(const queue_layout::Layout& layout,
                              const common::Deployment& deployment, std::size_t max_bytes,
                              std::vector<std::string>& notes) {
  DeploymentStatus status;
  status.name = deployment.name;
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

// The ledger's part. Every failure becomes the note: status is what an operator runs when
// something is wrong, so it must still show the folders when the database is the problem.
void read_ledger(const common::Config& config, StatusReport& report) {
  // An unreachable host over TCP would otherwise hang for the kernel's connect timeout.
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);
  try {
    ledger::Ledger ledger(common::database_url(config));
    ledger.require_schema();
    for (auto& deployment : report.deployments) {
      auto history = ledger.history(deployment.name, 5);
      deployment.last_success = std::move(history.last_success);
      deployment.last_failure = std::move(history.last_failure);
      deployment.last_skipped = std::move(history.last_skipped);
      deployment.recent = std::move(history.recent);
      if (!deployment.active) continue;
      if (const auto item = ledger.queue_item(deployment.name, deployment.active->entry)) {
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
    }
  }
}

}  // namespace

StatusReport gather_status(const common::Config& config) {
  StatusReport report;
  report.instance = config.instance;
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
    report.deployments.push_back(read_folders(layout, deployment, max_bytes, report.notes));
  }
  read_ledger(config, report);
  return report;
}

}  // namespace deployctl
