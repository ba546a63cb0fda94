// pipeline.cpp: the real pipeline for the reliability tests (see pipeline.hpp).
#include "tests/reliability/pipeline.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/entry.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/scan.hpp"

using namespace std::chrono_literals;

namespace reliability {
namespace {

const std::map<std::string, std::string> kBranch{{"alpha", "main"}, {"beta", "staging"}};

std::size_t count_entries(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  queue_layout::list_entries(dir, listing);
  return listing.entries.size();
}

std::set<std::string> entry_set(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  queue_layout::list_entries(dir, listing);
  return {listing.entries.begin(), listing.entries.end()};
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string payload(const std::string& branch, const std::string& sha) {
  return nlohmann::json{
      {"ref", "refs/heads/" + branch},
      {"before", std::string(40, '0')},
      {"after", sha},
      {"created", false},
      {"deleted", false},
      {"forced", false},
      {"repository", {{"name", "app"}, {"full_name", "example/app"}}},
      {"head_commit", {{"id", sha}, {"message", "reliability push"}}},
  }
      .dump();
}

}  // namespace

Pipeline::Pipeline(std::string database_url, int commits, const std::string& state_tmpfs,
                   const std::string& work_seconds)
    : database_url_(std::move(database_url)) {
  test::GitOrigin origin(root_ / "repo");
  for (const auto& d : kDeployments) {
    for (int i = 0; i < commits; ++i) {
      commits_[d].push_back(origin.commit({{d + ".txt", std::to_string(i) + "\n"}},
                                          d + " " + std::to_string(i), kBranch.at(d)));
    }
    origin.clone_to(root_ / d, kBranch.at(d));
  }
  port_ = test::free_port();
  nlohmann::json deployments = nlohmann::json::object();
  for (const auto& d : kDeployments) {
    deployments[d] = {
        {"repository", "example/app"},
        {"branch", kBranch.at(d)},
        {"path", (root_ / d).string()},
        {"remote", origin.url().string()},
        {"env", {{"RECORD", (root_ / (d + ".record")).string()}}},
        {"steps",
         {{{"name", "work"}, {"run", {"sleep", work_seconds}}, {"timeout_s", 60}},
          {{"name", "record"},
           {"shell", true},
           {"run", {"echo \"$DEPLOY_DELIVERY $DEPLOY_ENTRY $DEPLOY_SHA\" >> \"$RECORD\""}}}}},
    };
  }
  // github.api_url points at a closed port: statuses are attempted with the token and given up,
  // which is what lets the test check the token never reaches a log. GitHub deployments are off:
  // their outbox would keep every status for ever (a closed port is retried), filling the small
  // state folders of the disk-full runs; they have their own tests (deployer_tests [github]).
  nlohmann::json config = {
      {"instance", "reliability"},
      {"state_dir", "var"},
      {"allow_root", true},
      {"listen", {{"host", "127.0.0.1"}, {"port", port_}}},
      {"github",
       {{"api_url", "http://127.0.0.1:" + std::to_string(test::free_port())},
        {"deployments", false}}},
      {"router", {{"settle_ms", 200}, {"rescan_s", 2}}},
      {"retention", {{"done_max_count", 1000000}}},
      {"deployments", deployments},
  };
  config_ = root_ / "deployer.json";
  test::write_file(config_, config.dump(2));
  std::filesystem::create_directories(root_ / "logs");
  if (!state_tmpfs.empty()) {
    // Before any program starts: each one creates its folders (ensure_layout) at startup, and
    // they must all be on the tmpfs (entries move between them with link(2), never across
    // filesystems).
    std::filesystem::create_directories(state());
    if (::mount("tmpfs", state().c_str(), "tmpfs", 0, state_tmpfs.c_str()) != 0) {
      throw std::runtime_error("mount -t tmpfs -o " + state_tmpfs + " " + state().string() + ": " +
                               std::strerror(errno));
    }
    state_mounted_ = true;
  }
  try {
    for (const auto& p : programs()) start(p);
  } catch (...) {
    // A constructor that throws runs no destructor: stop what started and unmount here.
    std::lock_guard lock(mutex_);
    for (auto& [name, child] : children_) {
      if (child) child->kill();
    }
    if (state_mounted_) ::umount2(state().c_str(), MNT_DETACH);
    throw;
  }
}

Pipeline::~Pipeline() {
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, child] : children_) {
      if (child) child->kill();
    }
  }
  // After the programs are gone, before root_ is removed (removing a mount point fails).
  if (state_mounted_) ::umount2(state().c_str(), MNT_DETACH);
}

std::vector<std::string> Pipeline::programs() const {
  return {"receiver", "router", "deployer-alpha", "deployer-beta"};
}

void Pipeline::start(const std::string& program) {
  std::vector<std::string> argv;
  if (program.rfind("deployer-", 0) == 0) {
    argv = {test::bin("deployer").string(), "--config", config_.string(), "--deployment",
            program.substr(9)};
  } else {
    argv = {test::bin(program).string(), "--config", config_.string()};
  }
  std::map<std::string, std::string> env{
      {"DATABASE_URL", database_url_}, {"WEBHOOK_SECRET", kSecret}, {"GITHUB_TOKEN", kToken}};
  {
    std::lock_guard lock(mutex_);
    children_[program] =
        std::make_unique<test::Child>(argv, env, root_ / "logs" / (program + ".log"));
  }
  if (program == "receiver" && !test::http::wait_for_port(port_, 30s)) {
    throw std::runtime_error("receiver did not listen again\n" + logs());
  }
}

void Pipeline::kill(const std::string& program) {
  std::lock_guard lock(mutex_);
  auto it = children_.find(program);
  if (it != children_.end() && it->second) it->second->kill();
}

bool Pipeline::all_running() {
  std::lock_guard lock(mutex_);
  for (auto& [name, child] : children_) {
    if (!child || !child->running()) return false;
  }
  return true;
}

std::optional<Acked> Pipeline::push(const std::string& deployment, const std::string& sha,
                                    std::chrono::steady_clock::time_point deadline) {
  test::http::Webhook hook;
  hook.secret = kSecret;
  hook.body = payload(kBranch.at(deployment), sha);
  hook.delivery = test::http::random_delivery();
  hook.hook_id = "8";
  const std::string raw = test::http::webhook_request(hook);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (!connection_) connection_.emplace(port_, "127.0.0.1", 5s);
      auto response = connection_->request(raw);
      if (response.status >= 200 && response.status < 300) {
        return Acked{deployment, hook.delivery, sha};
      }
      if (response.status != 503) {
        throw std::runtime_error("push answered " + std::to_string(response.status) + ": " +
                                 response.body);
      }
    } catch (const std::system_error&) {
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).rfind("push answered", 0) == 0) throw;
    }
    // Connection refused, reset or closed (the receiver was killed), or 503: redeliver the same
    // delivery id on a new connection, as GitHub's "Redeliver" does.
    connection_.reset();
    std::this_thread::sleep_for(20ms);
  }
  unacknowledged_.push_back(Acked{deployment, hook.delivery, sha});
  return std::nullopt;
}

bool Pipeline::drain(std::chrono::milliseconds timeout) {
  const queue_layout::Layout layout(state());
  return test::eventually(
      [&] {
        if (count_entries(layout.inbox()) != 0) return false;
        for (const auto& d : kDeployments) {
          if (count_entries(layout.queue(d)) != 0 || count_entries(layout.active(d)) != 0) {
            return false;
          }
        }
        try {
          pqxx::connection c(database_url_);
          pqxx::work w(c);
          auto r = w.exec1("SELECT count(*) FROM queue_items WHERE state IN ('queued','running')");
          return r[0].as<long>() == 0;
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout);
}

Figures Pipeline::verify(const std::vector<Acked>& acked, const std::string& database_url) {
  Figures f;
  auto problem = [&](const std::string& what) {
    if (f.problems.size() < 20) f.problems.push_back(what);
  };
  const queue_layout::Layout layout(state());
  pqxx::connection c(database_url);
  pqxx::work w(c);

  // Every queue item, and every run, by (deployment, entry).
  struct Item {
    std::string entry, state, delivery;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Item>> items_by_delivery;
  std::map<std::string, std::vector<Item>> items_by_deployment;
  for (const auto& row : w.exec("SELECT deployment, entry_name, state, coalesce(delivery_id, '') "
                                "FROM queue_items")) {
    Item item{row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()};
    items_by_delivery[{row[0].as<std::string>(), item.delivery}].push_back(item);
    items_by_deployment[row[0].as<std::string>()].push_back(item);
  }
  std::map<std::pair<std::string, std::string>, std::map<std::string, int>> runs;
  for (const auto& row : w.exec("SELECT deployment, entry_name, coalesce(outcome, 'open') "
                                "FROM runs")) {
    runs[{row[0].as<std::string>(), row[1].as<std::string>()}][row[2].as<std::string>()]++;
  }
  // The record files: what the deploys did, read from outside the pipeline.
  std::map<std::string, std::map<std::string, int>> recorded;  // deployment -> entry -> lines
  std::map<std::string, std::map<std::string, std::set<std::string>>> recorded_shas;
  for (const auto& d : kDeployments) {
    for (const auto& line : lines_of(root_ / (d + ".record"))) {
      std::istringstream fields(line);
      std::string delivery, entry, sha;
      fields >> delivery >> entry >> sha;
      recorded[d][entry]++;
      recorded_shas[d][entry].insert(sha);
    }
  }
  // The newest commit each deployment really deployed: a succeeded item with its record line.
  std::map<std::string, int> newest_deployed;
  for (const auto& [d, items] : items_by_deployment) {
    for (const auto& item : items) {
      if (item.state != "succeeded") continue;
      for (const auto& sha : recorded_shas[d][item.entry]) {
        newest_deployed[d] =
            std::max(newest_deployed.count(d) ? newest_deployed[d] : -1, commit_index(d, sha));
      }
    }
  }

  // Each delivery that reached the ledger: exactly one queue item in its deployment, in a final
  // state, and that state backed by the record file. `received_only`: an unacknowledged push,
  // which may or may not have reached the receiver's disk before the answer was lost.
  auto account = [&](const Acked& a, bool received_only) {
    auto it = items_by_delivery.find({a.deployment, a.delivery});
    if (it == items_by_delivery.end() || it->second.empty()) {
      if (received_only) return;
      ++f.lost;
      problem("lost: " + a.deployment + " delivery " + a.delivery + " has no queue item");
      return;
    }
    if (received_only) ++f.unacked_received;
    if (it->second.size() > 1) {
      ++f.duplicated;
      problem("duplicated: " + a.deployment + " delivery " + a.delivery + " has " +
              std::to_string(it->second.size()) + " queue items");
    }
    const Item& item = it->second.front();
    const int index = commit_index(a.deployment, a.sha);
    if (item.state == "succeeded") {
      if (!received_only) ++f.deployed;
      if (!recorded_shas[a.deployment][item.entry].count(a.sha)) {
        ++f.unaccounted;
        problem("succeeded without a record line of " + a.sha + ": " + a.deployment + " " +
                item.entry);
      }
    } else if (item.state == "superseded" || item.state == "stale") {
      if (!received_only) ++(item.state == "stale" ? f.stale : f.superseded);
      const auto newest = newest_deployed.find(a.deployment);
      if (index < 0 || newest == newest_deployed.end() || newest->second < index) {
        ++f.unaccounted;
        problem(item.state + " but no commit as new was deployed: " + a.deployment + " " +
                item.entry + " (commit " + std::to_string(index) + ")");
      }
    } else {
      ++f.lost;
      problem("not final: " + a.deployment + " delivery " + a.delivery + " is " + item.state);
    }
  };
  for (const auto& a : acked) {
    ++f.acked;
    account(a, false);
  }
  for (const auto& a : unacknowledged_) {
    ++f.unacked;
    account(a, true);
  }

  // Every item (acknowledged or not): at most one successful run; the record file agrees.
  for (const auto& d : kDeployments) {
    const auto done = entry_set(layout.done(d));
    std::set<std::string> final_items;
    for (const auto& item : items_by_deployment[d]) {
      auto& outcomes = runs[{d, item.entry}];
      const int ok = outcomes["succeeded"];
      const int interrupted = outcomes["interrupted"] + outcomes["open"];
      f.runs_succeeded += static_cast<std::size_t>(ok);
      f.runs_interrupted += static_cast<std::size_t>(interrupted);
      if (ok > 1) {
        ++f.duplicated;
        problem("duplicated: " + d + " " + item.entry + " succeeded " + std::to_string(ok) +
                " times");
      }
      const int lines = recorded[d][item.entry];
      if (item.state == "succeeded" && lines < 1) {
        problem("succeeded without its record line: " + d + " " + item.entry);
        ++f.folder_mismatches;
      }
      // A step re-run after kill -9 in the middle of a run appends its line again: allowed only
      // for runs the ledger shows as interrupted.
      if (lines > 1) {
        if (lines - 1 > interrupted) {
          ++f.duplicated;
          problem("recorded " + std::to_string(lines) + " times with " +
                  std::to_string(interrupted) + " interrupted runs: " + d + " " + item.entry);
        } else {
          ++f.reruns_after_kill;
        }
      }
      if (item.state != "succeeded" && lines > interrupted) {
        ++f.duplicated;
        problem("recorded but " + item.state + ": " + d + " " + item.entry);
      }
      if (item.state == "failed") ++f.failed;
      if (item.state == "succeeded" || item.state == "superseded" || item.state == "stale") {
        final_items.insert(item.entry);
        if (!done.count(item.entry)) {
          ++f.folder_mismatches;
          problem("final in the ledger but not in done/: " + d + " " + item.entry);
        }
      }
    }
    for (const auto& name : done) {
      if (!final_items.count(name)) {
        ++f.folder_mismatches;
        problem("in done/ without a final ledger state: " + d + " " + name);
      }
      if (!common::parse_entry(test::read_file(layout.done(d) / name))) {
        ++f.partial_entries;
        problem("partial entry: " + d + " " + name);
      }
    }
    f.failed += count_entries(layout.failed(d));
  }
  f.rejected = count_entries(layout.rejected());
  return f;
}

int Pipeline::commit_index(const std::string& deployment, const std::string& sha) const {
  const auto& shas = commits_.at(deployment);
  const auto it = std::find(shas.begin(), shas.end(), sha);
  return it == shas.end() ? -1 : static_cast<int>(it - shas.begin());
}

std::string Pipeline::checked_out(const std::string& deployment) const {
  return test::checked_out(root_ / deployment);
}

std::string Pipeline::run_log(const std::string& deployment, const std::string& entry) const {
  const auto file = queue_layout::Layout(state()).logs(deployment) / (entry + ".log");
  std::error_code ec;
  return std::filesystem::exists(file, ec) ? test::read_file(file) : std::string();
}

std::string Pipeline::logs() const {
  std::string out;
  for (const auto& p : programs()) {
    const auto file = root_ / "logs" / (p + ".log");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;
    std::string text = test::read_file(file);
    if (text.size() > 6000) text = "..." + text.substr(text.size() - 6000);
    out += "--- " + p + "\n" + text;
  }
  return out;
}

std::vector<std::string> Pipeline::files_containing(const std::string& needle) const {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root_.path())) {
    // Never through a symbolic link (the hostile-files test drops one to /etc/shadow).
    if (e.is_symlink() || !e.is_regular_file()) continue;
    const auto rel = e.path().lexically_relative(root_.path()).string();
    if (rel.rfind("repo/", 0) == 0 || rel == "deployer.json") continue;
    if (rel.find("/.git/") != std::string::npos) continue;
    if (test::read_file(e.path()).find(needle) != std::string::npos) found.push_back(rel);
  }
  return found;
}

std::vector<std::string> Pipeline::open_modes() const {
  std::vector<std::string> open;
  for (const auto& e : std::filesystem::recursive_directory_iterator(state())) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
    if ((st.st_mode & 0007) != 0) {  // other users (run logs are 0640 by design)
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      open.push_back(e.path().lexically_relative(state()).string() + " " + mode);
    }
  }
  return open;
}

}  // namespace reliability
