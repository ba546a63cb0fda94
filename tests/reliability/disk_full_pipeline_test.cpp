// disk_full_pipeline_test.cpp: the router and the deployers on a real full disk (issue 8: "router
// and deployer leave entries where they were; service resumes when space returns").
//
// The whole pipeline (pipeline.hpp) runs with its state folder on a small tmpfs mounted before
// any program starts (needs root, which these test machines run as; else each test is skipped:
// test::require_tmpfs, exit status 77). The ledger, the git clones, the record files and the
// programs' own logs stay on the real disk. A Filler then takes every block of the tmpfs (one big
// file) and, where the test says so, every inode (empty files).
//
// What a full tmpfs refuses (measured on Linux 6.18, checked again by each test): with no inode
// left, link(2) fails with ENOSPC (tmpfs charges every hard link one inode, for its dentry) and
// so does creating a file; rename(2) still works. With no block left but inodes free, link(2)
// and creating an empty file work and the first write(2) into a new file fails with ENOSPC. So:
//  - inodes full: the router cannot link an inbox entry into a queue, the deployer cannot link a
//    queue entry into active/ (queue-layout move_entry), nothing can create a run log;
//  - blocks full: routing and moving work, but the deployer cannot write the run's files (its
//    run log, the .changed list, error.json).
// To have entries in place while the disk is full without any program restart, each test writes
// its entries first as dot-temporaries (which every reader skips), fills the disk, then renames
// them to their canonical names: the programs meet them on a full disk.
//
// Invariants (every test): nothing is lost, partial, left as a temporary, or deployed twice; no
// entry ends in failed/ because the disk was full (a transient condition, not a bad entry); no
// program crashes or is restarted; once the filler is removed, everything is routed and deployed
// exactly once. Each test prints one "disk full:" figures line (scripts/reliability.sh).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/ledger/migrations.hpp"
#include "common/timefmt.hpp"
#include "queue-layout/layout.hpp"
#include "tests/reliability/pipeline.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/skip.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// 4 MiB of blocks and 1024 inodes: the pipeline's folders and lock files take a few dozen inodes,
// and filling the rest takes well under a second.
constexpr const char* kTmpfs = "size=4m,nr_inodes=1024,mode=0700";

const std::map<std::string, std::string> kBranch{{"alpha", "main"}, {"beta", "staging"}};

// Fills the filesystem holding `dir` (a new folder on the state tmpfs, outside every folder a
// program reads): first one big file until write(2) fails with ENOSPC (no block left), then, if
// `inodes`, empty files until open(2) fails with ENOSPC (no inode left). The big file comes
// first: with no inode left it could not even be created. free() removes it all.
class Filler {
 public:
  Filler(fs::path dir, bool inodes) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    int fd = ::open((dir_ / "big").c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    const std::string block(64 * 1024, 'x');
    int error = 0;
    for (;;) {
      const ssize_t n = ::write(fd, block.data(), block.size());
      if (n <= 0) {
        error = errno;
        break;
      }
      bytes_ += static_cast<std::size_t>(n);
    }
    ::close(fd);
    REQUIRE(error == ENOSPC);
    if (inodes) {
      for (;;) {
        const auto file = dir_ / std::string("i").append(std::to_string(files_));
        fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
          error = errno;
          break;
        }
        ::close(fd);
        ++files_;
      }
      REQUIRE(error == ENOSPC);
    }
  }
  ~Filler() { free(); }
  Filler(const Filler&) = delete;
  Filler& operator=(const Filler&) = delete;

  void free() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::size_t bytes() const { return bytes_; }
  std::size_t files() const { return files_; }

 private:
  fs::path dir_;
  std::size_t bytes_ = 0;
  std::size_t files_ = 0;
};

// One push entry as the receiver writes it (envelope and GitHub payload).
struct Drop {
  std::string deployment;
  std::string delivery;
  std::string sha;
  std::string name;
  std::string bytes;
};

Drop make_drop(const std::string& deployment, const std::string& sha) {
  static std::uint64_t last = 0;  // names strictly increasing, as NameClock makes them
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  last = std::max(now, last + 1);
  std::string digits = std::to_string(last);
  Drop d;
  d.deployment = deployment;
  d.delivery = test::http::random_delivery();
  d.sha = sha;
  d.name = std::string(20 - digits.size(), '0') + digits + "-" + d.delivery + ".json";
  const std::string branch = kBranch.at(deployment);
  d.bytes =
      nlohmann::json{
          {"id", d.delivery},
          {"event", "push"},
          {"received_at", common::utc_timestamp_ns(std::chrono::system_clock::now())},
          {"hook_id", "8"},
          {"payload",
           {{"ref", "refs/heads/" + branch},
            {"before", std::string(40, '0')},
            {"after", sha},
            {"repository", {{"name", "app"}, {"full_name", "example/app"}}},
            {"head_commit", {{"id", sha}, {"message", "disk full push"}}}}},
      }
          .dump() +
      "\n";
  return d;
}

fs::path temporary(const fs::path& dir, const Drop& d) {
  return dir / ("." + d.name + ".tmp");
}

// Written whole while there is space, under a dot-name no program takes.
void stage(const fs::path& dir, const Drop& d) {
  test::write_file(temporary(dir, d), d.bytes);
}

// The rename that makes it an entry: needs neither a block nor an inode, so it works on the full
// disk (and so does the operator's `mv` of a replay).
void publish(const fs::path& dir, const Drop& d) {
  INFO(dir / d.name);
  REQUIRE(::rename(temporary(dir, d).c_str(), (dir / d.name).c_str()) == 0);
}

// Every name in `dir`, dot-files included (temporaries must show up here).
std::set<std::string> all_names(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.insert(e.path().filename().string());
  return names;
}

// How many of `drops` are in `dir` under their name with exactly the bytes written.
std::size_t intact(const fs::path& dir, const std::vector<Drop>& drops) {
  std::size_t n = 0;
  for (const auto& d : drops) {
    std::error_code ec;
    if (fs::is_regular_file(dir / d.name, ec) && test::read_file(dir / d.name) == d.bytes) ++n;
  }
  return n;
}

std::set<std::string> names_of(const std::vector<Drop>& drops) {
  std::set<std::string> names;
  for (const auto& d : drops) names.insert(d.name);
  return names;
}

std::vector<reliability::Acked> acked_of(const std::vector<Drop>& drops) {
  std::vector<reliability::Acked> acked;
  for (const auto& d : drops) acked.push_back({d.deployment, d.delivery, d.sha});
  return acked;
}

std::string program_log(const reliability::Pipeline& p, const std::string& program) {
  std::error_code ec;
  const auto file = p.root() / "logs" / (program + ".log");
  return fs::exists(file, ec) ? test::read_file(file) : std::string();
}

long query_long(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction w(c);
  return w.exec1(sql)[0].as<long>();
}

std::size_t record_lines(const reliability::Pipeline& p, const std::string& deployment) {
  std::ifstream in(p.root() / (deployment + ".record"));
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Every program has started (created its folders, lock file and ledger connection) before the
// disk is filled: a deployer that cannot create its lock file refuses to start, which is right
// but not what these tests are about.
void wait_for_start(const reliability::Pipeline& pipeline) {
  const bool started = test::eventually(
      [&] {
        for (const auto& d : reliability::kDeployments) {
          if (program_log(pipeline, "deployer-" + d).find("deployer started") == std::string::npos)
            return false;
        }
        return program_log(pipeline, "router").find("router started") != std::string::npos;
      },
      60s);
  INFO(pipeline.logs());
  REQUIRE(started);
}

// The checks every test ends with, once the filler is gone and the pipeline drained.
reliability::Figures check_after(reliability::Pipeline& pipeline, const std::vector<Drop>& drops,
                                 const std::string& url) {
  INFO(pipeline.logs());
  if (!pipeline.drain(180s)) FAIL("the pipeline did not drain after space returned");
  auto f = pipeline.verify(acked_of(drops), url);
  for (const auto& line : f.problems) UNSCOPED_INFO(line);
  CHECK(f.lost == 0);
  CHECK(f.unaccounted == 0);
  CHECK(f.duplicated == 0);
  CHECK(f.partial_entries == 0);
  CHECK(f.folder_mismatches == 0);
  CHECK(f.failed == 0);  // a full disk is not a bad entry
  CHECK(f.rejected == 0);
  CHECK(f.runs_interrupted == 0);
  CHECK(f.deployed + f.superseded + f.stale == drops.size());
  CHECK(pipeline.all_running());  // nothing crashed, nothing was restarted
  return f;
}

}  // namespace

TEST_CASE(
    "on a full disk the router leaves entries in the inbox and routes them once space returns") {
  test::require_tmpfs();
  test::Database db;
  ledger::migrate(db.url());
  reliability::Pipeline pipeline(db.url(), 10, kTmpfs);
  const queue_layout::Layout layout(pipeline.state());
  wait_for_start(pipeline);

  std::vector<Drop> drops;
  for (int i = 0; i < 20; ++i) {
    const std::string& d = reliability::kDeployments[static_cast<std::size_t>(i % 2)];
    drops.push_back(make_drop(d, pipeline.commits(d)[static_cast<std::size_t>(i / 2)]));
    stage(layout.inbox(), drops.back());
  }
  Filler filler(pipeline.state() / "filler", true);
  // The fact the router meets: no inode, so no hard link into a queue.
  REQUIRE(::link(temporary(layout.inbox(), drops[0]).c_str(),
                 (layout.queue("alpha") / ".probe").c_str()) != 0);
  REQUIRE(errno == ENOSPC);
  for (const auto& d : drops) publish(layout.inbox(), d);

  // The router takes the first entry, cannot link it, pauses and retries with back-off.
  const bool paused = test::eventually(
      [&] {
        const auto log = program_log(pipeline, "router");
        return log.find("routing paused") != std::string::npos &&
               log.find("No space left on device") != std::string::npos;
      },
      30s);
  INFO(pipeline.logs());
  CHECK(paused);
  // Several retries (back-off 0.1 s doubling). What is checked next must hold for as long as the
  // disk is full, whatever the timing: the pause only gives a bug the time to show.
  std::this_thread::sleep_for(3s);

  // While full: every entry still in the inbox, byte-identical, and nothing else there (no
  // temporary); nothing in any queue or later folder; the ledger records no delivery as routed.
  const std::size_t kept = intact(layout.inbox(), drops);
  CHECK(kept == drops.size());
  CHECK(all_names(layout.inbox()) == names_of(drops));
  for (const auto& d : reliability::kDeployments) {
    for (const auto& dir : {layout.queue(d), layout.active(d), layout.done(d), layout.failed(d)}) {
      INFO(dir);
      CHECK(all_names(dir).empty());
    }
  }
  CHECK(all_names(layout.rejected()).empty());
  CHECK(query_long(db.url(), "SELECT count(*) FROM deliveries WHERE decision = 'routed'") == 0);
  // At most the items the router records before linking (step 1 of its routing order), still
  // "queued": the deployer has nothing to take.
  CHECK(query_long(db.url(), "SELECT count(*) FROM queue_items WHERE state <> 'queued'") == 0);
  CHECK(pipeline.all_running());

  filler.free();
  auto f = check_after(pipeline, drops, db.url());
  // Routed exactly once: one "routed" decision per delivery, nothing else.
  const long routed =
      query_long(db.url(), "SELECT count(*) FROM deliveries WHERE decision = 'routed'");
  CHECK(routed == static_cast<long>(drops.size()));
  CHECK(query_long(db.url(), "SELECT count(*) FROM deliveries") == static_cast<long>(drops.size()));
  CHECK(f.deployed > 0);
  std::cout << "disk full: router kept " << kept << "/" << drops.size()
            << " entries in inbox/ while full (" << filler.bytes() << " bytes and "
            << filler.files() << " inodes filled, link refused with ENOSPC, router paused and kept "
            << "running), routed " << routed << " exactly once after space returned: deployed "
            << f.deployed << ", superseded " << f.superseded << ", stale " << f.stale << ", lost "
            << f.lost << ", duplicated " << f.duplicated << ", failed " << f.failed
            << ", restarts 0" << std::endl;
}

TEST_CASE(
    "on a full disk the deployers leave entries in their queues and deploy them once space "
    "returns") {
  test::require_tmpfs();
  test::Database db;
  ledger::migrate(db.url());
  reliability::Pipeline pipeline(db.url(), 10, kTmpfs);
  const queue_layout::Layout layout(pipeline.state());
  wait_for_start(pipeline);

  // Replays dropped by an operator straight into the queues (always deployed, in order: never
  // superseded or stale), so "deployed exactly once" is exact.
  std::map<std::string, std::vector<Drop>> by_deployment;
  std::vector<Drop> drops;
  for (int i = 0; i < 10; ++i) {
    const std::string& d = reliability::kDeployments[static_cast<std::size_t>(i % 2)];
    drops.push_back(make_drop(d, pipeline.commits(d)[static_cast<std::size_t>(i / 2)]));
    by_deployment[d].push_back(drops.back());
    stage(layout.queue(d), drops.back());
  }
  Filler filler(pipeline.state() / "filler", true);
  for (const auto& d : drops) publish(layout.queue(d.deployment), d);

  const bool retrying = test::eventually(
      [&] {
        for (const auto& d : reliability::kDeployments) {
          const auto log = program_log(pipeline, "deployer-" + d);
          if (log.find("cannot move entry, retrying") == std::string::npos ||
              log.find("No space left on device") == std::string::npos)
            return false;
        }
        return true;
      },
      30s);
  INFO(pipeline.logs());
  CHECK(retrying);
  // Several retries (back-off 0.25 s doubling). What is checked next must hold for as long as
  // the disk is full, whatever the timing: the pause only gives a bug the time to show.
  std::this_thread::sleep_for(3s);

  // While full: every entry still in its queue, byte-identical, nothing else there; nothing
  // taken (active/, done/, failed/ empty, no queue item claimed), no step run.
  std::size_t kept = 0;
  for (const auto& d : reliability::kDeployments) {
    INFO(d);
    kept += intact(layout.queue(d), by_deployment[d]);
    CHECK(all_names(layout.queue(d)) == names_of(by_deployment[d]));
    CHECK(all_names(layout.active(d)).empty());
    CHECK(all_names(layout.done(d)).empty());
    CHECK(all_names(layout.failed(d)).empty());
    CHECK(record_lines(pipeline, d) == 0);
  }
  CHECK(kept == drops.size());
  CHECK(query_long(db.url(), "SELECT count(*) FROM queue_items") == 0);
  CHECK(pipeline.all_running());

  filler.free();
  auto f = check_after(pipeline, drops, db.url());
  CHECK(f.deployed == drops.size());
  CHECK(f.runs_succeeded == drops.size());
  std::cout << "disk full: deployers kept " << kept << "/" << drops.size()
            << " entries in queues/ while full (move to active/ refused with ENOSPC, retried with "
            << "back-off), deployed " << f.deployed << " exactly once after space returned ("
            << f.runs_succeeded << " successful runs), lost " << f.lost << ", duplicated "
            << f.duplicated << ", failed " << f.failed << ", restarts 0" << std::endl;
}

// Regression (issue 8): a deploy whose run files cannot be written waits in active/ instead of
// failing. Before the fix, a full disk while writing <entry>.changed made the run fail ("changed
// files: cannot write ...: No space left on device") and the entry ended in failed/ once space
// returned; a run log that could not be created (no inode) threw out of the deployer's loop and
// the deployer exited (under PM2: a crash loop, re-running the entry from active/ each time).
TEST_CASE(
    "on a full disk a deploy that cannot write its run files waits in active and is not failed") {
  test::require_tmpfs();
  test::Database db;
  ledger::migrate(db.url());
  reliability::Pipeline pipeline(db.url(), 10, kTmpfs);
  const queue_layout::Layout layout(pipeline.state());
  wait_for_start(pipeline);
  std::vector<Drop> drops;
  std::size_t held = 0;

  // 1. Blocks full, inodes free: the move to active/ and the run log's creation work; the
  //    .changed list (non-empty: the first deploy changes every path) cannot be written.
  {
    std::vector<Drop> phase;
    for (const auto& d : reliability::kDeployments) {
      phase.push_back(make_drop(d, pipeline.commits(d)[0]));
      stage(layout.queue(d), phase.back());
    }
    Filler filler(pipeline.state() / "filler", false);
    for (const auto& d : phase) publish(layout.queue(d.deployment), d);
    const bool waiting = test::eventually(
        [&] {
          for (const auto& d : phase) {
            const auto log = program_log(pipeline, "deployer-" + d.deployment);
            if (!fs::exists(layout.active(d.deployment) / d.name) ||
                log.find("cannot write the changed-files list") == std::string::npos)
              return false;
          }
          return true;
        },
        60s);
    INFO(pipeline.logs());
    CHECK(waiting);
    std::this_thread::sleep_for(3s);  // what follows holds while full, whatever the timing
    for (const auto& d : phase) {
      INFO(d.deployment);
      const std::vector<Drop> one{d};
      held += intact(layout.active(d.deployment), one);
      CHECK(intact(layout.active(d.deployment), one) == 1);
      CHECK(all_names(layout.failed(d.deployment)).empty());  // no error.json either
      CHECK(all_names(layout.queue(d.deployment)).empty());
      CHECK(record_lines(pipeline, d.deployment) == 0);  // no step ran
    }
    CHECK(query_long(db.url(), "SELECT count(*) FROM queue_items WHERE state <> 'running'") == 0);
    CHECK(pipeline.all_running());
    filler.free();
    drops.insert(drops.end(), phase.begin(), phase.end());
    INFO(pipeline.logs());
    REQUIRE(pipeline.drain(120s));
  }

  // 2. Inodes full after the move: the test holds a lock on queue_items so the deployer stops in
  //    its claim with the entry already in active/, fills blocks and inodes, then lets it go: the
  //    run log (a new file) cannot be created.
  {
    const Drop d = make_drop("alpha", pipeline.commits("alpha")[1]);
    stage(layout.queue("alpha"), d);
    pqxx::connection locker(db.url());
    pqxx::work lock(locker);
    lock.exec0("LOCK TABLE queue_items IN SHARE MODE");  // blocks the claim's INSERT ... UPDATE
    publish(layout.queue("alpha"), d);
    const bool blocked = test::eventually(
        [&] {
          return fs::exists(layout.active("alpha") / d.name) &&
                 !fs::exists(layout.queue("alpha") / d.name) &&
                 query_long(db.url(),
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND datname = current_database()") > 0;
        },
        60s);
    INFO(pipeline.logs());
    REQUIRE(blocked);
    Filler filler(pipeline.state() / "filler", true);
    lock.commit();  // the claim goes through; then the run log cannot be created
    const bool waiting = test::eventually(
        [&] {
          return program_log(pipeline, "deployer-alpha").find("cannot create the run log") !=
                     std::string::npos ||
                 !pipeline.all_running();
        },
        30s);
    CHECK(waiting);
    std::this_thread::sleep_for(3s);  // what follows holds while full, whatever the timing
    CHECK(pipeline.all_running());    // before the fix: the deployer had exited
    const std::vector<Drop> one{d};
    held += intact(layout.active("alpha"), one);
    CHECK(intact(layout.active("alpha"), one) == 1);
    CHECK(all_names(layout.failed("alpha")).empty());
    filler.free();
    drops.push_back(d);
  }

  auto f = check_after(pipeline, drops, db.url());
  CHECK(f.deployed == drops.size());
  CHECK(f.runs_succeeded == drops.size());
  std::cout << "disk full: deployers held " << held << "/" << drops.size()
            << " runs in active/ while their run files could not be written (2 with blocks full: "
            << ".changed list, 1 with inodes full: run log), deployed " << f.deployed
            << " exactly once after space returned, failed " << f.failed << ", lost " << f.lost
            << ", duplicated " << f.duplicated << ", restarts 0" << std::endl;
}
