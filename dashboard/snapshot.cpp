// snapshot.cpp: gathering the values the pages show (snapshot.hpp). Files are read through
// queue_layout::read_entry (no symbolic links followed, sizes bounded): the state directory
// accepts hand-dropped files.
#include "dashboard/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <system_error>

#include "common/entry.hpp"
#include "common/hosts.hpp"
#include "common/json_parse.hpp"
#include "common/ledger/ledger.hpp"
#include "common/secrets.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"

namespace dashboard {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kTailLines = 20;
constexpr std::size_t kTailBytes = 16384;
constexpr std::size_t kSmallFile = 1 << 20;
constexpr std::uint64_t kFollowChunk = 65536;

std::size_t entry_limit(const common::Config& config) {
  return common::max_entry_bytes(config.receiver.body_limit_bytes);
}

// Reads at most `max` bytes of `file` starting at `offset` (no symbolic link followed). Returns
// false when the file cannot be opened; `size` is its current size.
bool read_range(const fs::path& file, std::uint64_t offset, std::uint64_t max, std::string& out,
                std::uint64_t& size) {
  out.clear();
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return false;
  }
  size = static_cast<std::uint64_t>(st.st_size);
  if (offset < size) {
    out.resize(static_cast<std::size_t>(std::min(max, size - offset)));
    std::size_t got = 0;
    while (got < out.size()) {
      const ssize_t n =
          ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
  }
  ::close(fd);
  return true;
}

LogTail tail_of(const fs::path& file) {
  LogTail tail;
  std::string text;
  std::uint64_t size = 0;
  if (!read_range(file, 0, 0, text, size)) return tail;
  const std::uint64_t start = size > kTailBytes ? size - kTailBytes : 0;
  read_range(file, start, kTailBytes, text, size);
  tail.cut = start > 0;
  if (tail.cut) {
    const auto newline = text.find('\n');
    text.erase(0, newline == std::string::npos ? text.size() : newline + 1);
  }
  // Keep the last kTailLines lines.
  std::size_t lines = 0;
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  while (pos > 0) {
    const auto newline = text.rfind('\n', pos - 1);
    if (newline == std::string::npos) break;
    if (++lines == kTailLines) {
      text.erase(0, newline + 1);
      tail.cut = true;
      break;
    }
    pos = newline;
  }
  tail.text = std::move(text);
  return tail;
}

std::string first_line(std::string text) {
  const auto newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

// The commit message an entry file tells (head_commit.message of a webhook push), looked for in
// every folder the entry may be in now.
std::string message_of(const common::Config& config, const std::string& deployment,
                       const std::string& entry) {
  const queue_layout::Layout layout(config.state_dir);
  for (const auto& dir : {layout.done(deployment), layout.active(deployment),
                          layout.failed(deployment), layout.queue(deployment)}) {
    std::string text;
    if (queue_layout::read_entry(dir, entry, entry_limit(config), text)) continue;
    auto parsed = common::parse_entry(text);
    if (!parsed.ok()) return "";
    const auto& payload = parsed->payload;
    const auto head = payload.find("head_commit");
    if (head != payload.end() && head->is_object()) {
      const auto message = head->find("message");
      if (message != head->end() && message->is_string()) {
        return first_line(message->get<std::string>());
      }
    }
    return "";
  }
  return "";
}

void add_message(const common::Config& config, const std::string& deployment,
                 const ledger::Run& run, std::map<std::string, std::string>& messages) {
  if (run.sha.empty() || messages.count(run.sha) != 0) return;
  auto message = message_of(config, deployment, run.entry_name);
  if (!message.empty()) messages[run.sha] = std::move(message);
}

std::string small_file(const fs::path& file) {
  std::string text;
  std::uint64_t size = 0;
  read_range(file, 0, 2048, text, size);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::vector<FailedEntry> failed_entries(const common::Config& config,
                                        const deployctl::DeploymentStatus& status) {
  const queue_layout::Layout layout(config.state_dir);
  const auto dir = layout.failed(status.name);
  std::vector<FailedEntry> out;
  for (const auto& entry : status.failed) {
    FailedEntry failed{status.name, entry, "", ""};
    std::string text;
    if (queue_layout::read_entry(dir, queue_layout::error_name(entry), kSmallFile, text)) {
      failed.reason = "no " + queue_layout::error_name(entry) + " beside it";
    } else if (auto report = common::parse_json(text); report.ok() && report->is_object()) {
      const auto& json = *report;
      const auto stage = json.value("stage", std::string());
      const auto reason = json.value("reason", std::string());
      failed.reason = stage.empty() ? reason : stage + ": " + reason;
      failed.sha = json.value("sha", std::string());
    } else {
      failed.reason = queue_layout::error_name(entry) + " is not valid JSON";
    }
    out.push_back(std::move(failed));
  }
  return out;
}

// One connection per pool thread, kept: a live log asks twice a second per follower. A Ledger
// reconnects by itself after an outage.
ledger::Ledger& thread_ledger(const common::Config& config) {
  thread_local std::unique_ptr<ledger::Ledger> ledger;
  if (!ledger) ledger = std::make_unique<ledger::Ledger>(common::database_url(config));
  return *ledger;
}

std::optional<ledger::Run> find_run(const common::Config& config, ledger::RunId id) {
  return thread_ledger(config).run(id);
}

// A run of a deployment on several hosts is recorded under its host's ledger name; its log is
// in the deployment's own folder (on the host that ran it: another host's run has no log here).
fs::path log_file(const common::Config& config, const ledger::Run& run) {
  return queue_layout::Layout(config.state_dir)
             .logs(std::string(common::deployment_of_ledger_name(run.deployment))) /
         (run.entry_name + ".log");
}

}  // namespace

Overview Snapshots::overview() const {
  Overview overview;
  overview.report = deployctl::gather_status(config_);
  const queue_layout::Layout layout(config_.state_dir);
  for (const auto& d : overview.report.deployments) {
    if (d.active)
      overview.running_logs[d.name] = tail_of(layout.logs(d.name) / (d.active->entry + ".log"));
    if (d.last_success) add_message(config_, d.name, *d.last_success, overview.messages);
    for (const auto& run : d.recent) add_message(config_, d.name, run, overview.messages);
  }
  return overview;
}

Failures Snapshots::failures() const {
  Failures failures;
  const auto report = deployctl::gather_status(config_);
  const queue_layout::Layout layout(config_.state_dir);
  for (const auto& d : report.deployments) {
    auto failed = failed_entries(config_, d);
    failures.failed.insert(failures.failed.end(), failed.begin(), failed.end());
    for (const auto& stray : d.failed_strays) {
      failures.quarantined.push_back(
          {"failed/" + d.name, stray,
           small_file(layout.failed(d.name) / queue_layout::reason_name(stray))});
    }
  }
  std::error_code ec;
  std::vector<std::string> rejected;
  for (fs::directory_iterator it(layout.rejected(), ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.') || name.ends_with(".reason")) continue;
    rejected.push_back(name);
  }
  std::sort(rejected.begin(), rejected.end());
  for (const auto& name : rejected) {
    failures.quarantined.push_back(
        {"rejected", name, small_file(layout.rejected() / queue_layout::reason_name(name))});
  }
  return failures;
}

std::optional<DeploymentView> Snapshots::deployment(const std::string& name,
                                                    std::size_t page) const {
  if (config_.deployments.count(name) == 0) return std::nullopt;
  DeploymentView view;
  const auto report = deployctl::gather_status(config_);
  for (const auto& d : report.deployments) {
    if (d.name == name) view.status = d;
  }
  view.failed = failed_entries(config_, view.status);
  view.page = page;
  try {
    auto runs = thread_ledger(config_).runs_page(view.status.ledger_name, page * view.page_size,
                                                 view.page_size);
    view.runs = std::move(runs.runs);
    view.total_runs = runs.total;
    if (!view.status.hosts.empty()) {
      view.rollouts = ledger::Rollouts(common::database_url(config_)).recent(name, 10);
    }
    view.ledger_reachable = true;
  } catch (const std::exception& e) {
    view.ledger_note = e.what();
  }
  for (const auto& run : view.runs) add_message(config_, name, run, view.messages);
  const auto& deployment = config_.deployments.at(name);
  if (deployment.releases) {
    try {
      view.releases = deployctl::kept_releases(config_, deployment);
    } catch (const std::exception& e) {
      view.releases_note = e.what();
    }
  }
  return view;
}

std::optional<RunView> Snapshots::run(ledger::RunId id) const {
  auto run = find_run(config_, id);
  if (!run) return std::nullopt;
  RunView view;
  view.run = std::move(*run);
  view.message =
      message_of(config_, std::string(common::deployment_of_ledger_name(view.run.deployment)),
                 view.run.entry_name);
  const auto file = log_file(config_, view.run);
  std::string text;
  std::uint64_t size = 0;
  if (!read_range(file, 0, 0, text, size)) {
    view.log_missing = true;
    return view;
  }
  const std::uint64_t start = size > kMaxLogBytes ? size - kMaxLogBytes : 0;
  read_range(file, start, kMaxLogBytes, view.log, size);
  view.log_size = start + view.log.size();
  view.log_cut = start > 0;
  return view;
}

LogChunk Snapshots::follow(ledger::RunId id, std::uint64_t offset) const {
  LogChunk chunk;
  chunk.next_offset = offset;
  auto run = find_run(config_, id);
  if (!run) {
    chunk.finished = true;
    chunk.outcome = "unknown run";
    return chunk;
  }
  // The run's state first, then the file: a run seen finished has written its whole log.
  const bool over = run->finished_at.has_value();
  std::uint64_t size = 0;
  std::string data;
  read_range(log_file(config_, *run), offset, kFollowChunk, data, size);
  // Whole lines only, unless a single line is longer than a chunk.
  const auto newline = data.rfind('\n');
  if (newline != std::string::npos) {
    data.resize(newline + 1);
  } else if (data.size() < kFollowChunk && !over) {
    data.clear();
  }
  chunk.next_offset = offset + data.size();
  chunk.data = std::move(data);
  chunk.finished = over && chunk.next_offset >= size;
  if (chunk.finished) chunk.outcome = std::string(ledger::to_string(*run->outcome));
  return chunk;
}

}  // namespace dashboard
