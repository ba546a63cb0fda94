// chaos_test.cpp: crash chaos and a database outage over the whole pipeline (pipeline.hpp).
//
// Crash chaos, in two phases. 1. A burst of signed pushes over two deployments
// (DEPLOY_CHAOS_PUSHES, default 1000) while a killer thread sends SIGKILL to a random program at
// random moments and restarts it; the killing goes on 5 s after the burst. 2. The last kTail
// commits of each branch are pushed one at a time, and each time the test waits until each
// deployer is inside its "work" step (its run log says the step started and not that it ended),
// kills it there and restarts it: the interrupted run must be run again, once. Then everything
// runs undisturbed until the pipeline is drained, and the outcome is checked from the outside:
// each deployment's checkout is the newest commit pushed to its branch; every acknowledged push
// is accounted for by the record its deploy wrote, or by a superseded/stale decision for which a
// commit at least as new was deployed (Pipeline::verify); unacknowledged pushes are counted,
// bounded, and final too if they reached the ledger; every run killed inside its work step shows
// in the ledger as interrupted, was run again, and its record line is there exactly once. The
// random choices come from test::seed (printed; DEPLOY_TEST_SEED=N replays them).
// Also checked on the same run: nothing under the state directory is open to other users, and
// neither the webhook secret nor the GitHub token appears in any log, run log or error file.
//
// Database outage: the ledger's private PostgreSQL cluster is stopped in the middle of a burst
// for DEPLOY_OUTAGE_S seconds (default 10), then started; without restarting any program,
// everything is routed and deployed, with the same checks.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <pqxx/pqxx>

#include "common/ledger/migrations.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/scan.hpp"
#include "tests/reliability/pipeline.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/seed.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int kCommits = 25;
constexpr int kTail = 3;  // commits per branch pushed one at a time, with a kill inside a step

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

void print(const char* what, const reliability::Figures& f, std::size_t sent, int kills,
           std::size_t step_kills, double seconds) {
  std::cout << what << ": sent " << sent << ", acknowledged " << f.acked << ", unacknowledged "
            << f.unacked << " (" << f.unacked_received << " of them reached the ledger)"
            << ", deployed " << f.deployed << ", superseded " << f.superseded << ", stale "
            << f.stale << ", lost " << f.lost << ", unaccounted " << f.unaccounted
            << ", duplicated " << f.duplicated << ", successful runs " << f.runs_succeeded
            << ", interrupted runs " << f.runs_interrupted << ", steps re-run after a kill "
            << f.reruns_after_kill << ", kills survived " << kills << " (" << step_kills
            << " inside a step, each run again once), partial entries " << f.partial_entries
            << ", ledger/folder mismatches " << f.folder_mismatches << ", failed " << f.failed
            << ", rejected " << f.rejected << ", " << seconds << " s" << std::endl;
}

void check_invariants(const reliability::Figures& f, std::size_t acked, reliability::Pipeline& p) {
  for (const auto& line : f.problems) UNSCOPED_INFO(line);
  INFO(p.logs());
  CHECK(f.lost == 0);
  CHECK(f.unaccounted == 0);
  CHECK(f.duplicated == 0);
  CHECK(f.partial_entries == 0);
  CHECK(f.folder_mismatches == 0);
  CHECK(f.failed == 0);
  CHECK(f.rejected == 0);
  CHECK(f.deployed + f.superseded + f.stale == acked);
}

// Each deployment's checkout is the newest commit acknowledged for its branch (pushes go out in
// commit order, and a newer unacknowledged one may have been deployed only if it reached the
// ledger).
void check_checkouts(reliability::Pipeline& p, const std::vector<reliability::Acked>& acked) {
  for (const auto& d : reliability::kDeployments) {
    int newest = -1;
    for (const auto& a : acked) {
      if (a.deployment == d) newest = std::max(newest, p.commit_index(d, a.sha));
    }
    REQUIRE(newest >= 0);
    INFO(d << ": checked out commit " << p.commit_index(d, p.checked_out(d)) << ", newest pushed "
           << newest);
    CHECK(p.checked_out(d) == p.commits(d)[static_cast<std::size_t>(newest)]);
  }
}

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  auto begin = text.rfind('\n', end);
  return text.substr(begin == std::string::npos ? 0 : begin + 1, end - begin);
}

// True when the run log's last line is the start of the work step: the deployer is inside it.
bool in_work_step(const std::string& run_log) {
  return last_line(run_log).find("step 1/2 work: ") != std::string::npos;
}

struct StepKill {
  std::string deployment, entry;
};

// Waits until the deployer of `d` is inside the work step of the entry in its active/ folder,
// kills it with SIGKILL and restarts it after `downtime`. Returns the entry when the kill landed
// inside the step (the run log, read after the kill, still ends with the step's start).
std::optional<StepKill> kill_in_step(reliability::Pipeline& p, const std::string& d,
                                     std::chrono::milliseconds downtime) {
  const queue_layout::Layout layout(p.state());
  std::string entry;
  const bool found = test::eventually(
      [&] {
        queue_layout::Listing active;
        queue_layout::list_entries(layout.active(d), active);
        if (active.entries.size() != 1) return false;
        entry = active.entries[0];
        return in_work_step(p.run_log(d, entry));
      },
      30s);
  if (!found) return std::nullopt;
  p.kill("deployer-" + d);
  const bool inside = in_work_step(p.run_log(d, entry));
  std::this_thread::sleep_for(downtime);
  p.start("deployer-" + d);
  if (!inside) return std::nullopt;
  return StepKill{d, entry};
}

long query_long(const std::string& url, const std::string& sql, const std::string& a,
                const std::string& b) {
  pqxx::connection c(url);
  pqxx::work w(c);
  return w.exec_params1(sql, a, b)[0].as<long>();
}

std::size_t record_lines_of(const reliability::Pipeline& p, const StepKill& k) {
  std::istringstream in(test::read_file(p.root() / (k.deployment + ".record")));
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    n += line.find(" " + k.entry + " ") != std::string::npos;
  }
  return n;
}

}  // namespace

TEST_CASE("crash chaos: kill -9 of any program during a burst loses and duplicates nothing") {
  const int pushes = env_int("DEPLOY_CHAOS_PUSHES", 1000);
  const std::uint32_t seed = test::seed();
  test::Database db;
  ledger::migrate(db.url());
  // A work step of 0.4 s: long enough to aim a kill inside it.
  reliability::Pipeline pipeline(db.url(), kCommits, "", "0.4");
  const auto programs = pipeline.programs();
  const auto started = std::chrono::steady_clock::now();

  // 1. The burst, with kills at random moments.
  std::atomic<bool> stop{false};
  std::atomic<int> kills{0};
  std::string restart_error;  // written by the killer thread, read after join()
  std::thread killer([&] {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> pause_ms(100, 900), which(0, 3), downtime_ms(0, 200);
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
      if (stop) break;
      const std::string& victim = programs[static_cast<std::size_t>(which(rng))];
      pipeline.kill(victim);
      ++kills;
      std::this_thread::sleep_for(std::chrono::milliseconds(downtime_ms(rng)));
      try {
        pipeline.start(victim);
      } catch (const std::exception& e) {
        restart_error = e.what();
        break;
      }
    }
  });

  std::vector<reliability::Acked> acked;
  const std::size_t burst_commits = kCommits - kTail;
  for (int i = 0; i < pushes; ++i) {
    const std::string& d = reliability::kDeployments[static_cast<std::size_t>(i % 2)];
    // The same commit sequence for both deployments: each commit is pushed several times.
    const std::string& sha = pipeline.commits(
        d)[static_cast<std::size_t>(i) * burst_commits / static_cast<std::size_t>(pushes)];
    if (auto a = pipeline.push(d, sha, std::chrono::steady_clock::now() + 30s)) acked.push_back(*a);
  }
  // Keep killing while the backlog is worked off.
  std::this_thread::sleep_for(5s);
  stop = true;
  killer.join();
  INFO(pipeline.logs());
  REQUIRE(restart_error.empty());

  // 2. The tail: one push per deployment at a time, each deployer killed inside its work step.
  // The burst's backlog is worked off first: otherwise the kill can land in a run of a burst
  // entry, which the tail's own push then supersedes (it is never run again).
  if (!pipeline.drain(240s + std::chrono::milliseconds(100) * pushes))
    FAIL("the burst did not drain\n" << pipeline.logs());
  std::mt19937 rng(seed + 1);
  std::uniform_int_distribution<int> downtime_ms(0, 200);
  std::vector<StepKill> step_kills;
  for (int k = kCommits - kTail; k < kCommits; ++k) {
    for (const auto& d : reliability::kDeployments) {
      const auto a = pipeline.push(d, pipeline.commits(d)[static_cast<std::size_t>(k)],
                                   std::chrono::steady_clock::now() + 30s);
      REQUIRE(a);  // nothing kills the receiver now
      acked.push_back(*a);
    }
    for (const auto& d : reliability::kDeployments) {
      if (auto hit = kill_in_step(pipeline, d, std::chrono::milliseconds(downtime_ms(rng)))) {
        step_kills.push_back(*hit);
      }
      ++kills;
    }
    for (const auto& d : reliability::kDeployments) {
      const std::string sha = pipeline.commits(d)[static_cast<std::size_t>(k)];
      const bool deployed = test::eventually(
          [&] {
            const auto record = pipeline.root() / (d + ".record");
            return std::filesystem::exists(record) &&
                   test::read_file(record).find(" " + sha) != std::string::npos;
          },
          60s);
      if (!deployed) FAIL(d << ": commit " << k << " not deployed after the kill");
    }
  }
  REQUIRE(pipeline.all_running());

  // Superseding the backlog costs the deployer about 0.1 s per entry under ASan on a loaded
  // machine: allow for it in the longer variants.
  const auto drain_timeout = 240s + std::chrono::milliseconds(100) * pushes;
  if (!pipeline.drain(drain_timeout)) FAIL("the pipeline did not drain\n" << pipeline.logs());

  auto f = pipeline.verify(acked, db.url());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::size_t sent =
      static_cast<std::size_t>(pushes) + kTail * reliability::kDeployments.size();
  print("crash chaos", f, sent, kills, step_kills.size(), seconds);
  std::cout << "crash chaos: seed " << seed << " (replay: DEPLOY_TEST_SEED=" << seed << ")"
            << std::endl;
  check_invariants(f, acked.size(), pipeline);
  check_checkouts(pipeline, acked);
  CHECK(f.deployed > 0);
  // Unacknowledged pushes (every retry of the same delivery failed for 30 s) are counted, not
  // dropped: at most 5 % of the burst.
  CHECK(f.acked + f.unacked == sent);
  CHECK(f.unacked <= static_cast<std::size_t>(pushes) * 5 / 100);

  // Kills landed inside steps, and each such run was run again exactly once: the ledger shows the
  // interrupted run and one success, the record step (after the killed one) wrote one line.
  CHECK(step_kills.size() >= static_cast<std::size_t>(kTail));
  CHECK(f.runs_interrupted >= step_kills.size());
  for (const auto& k : step_kills) {
    INFO(k.deployment << " " << k.entry << "\n" << pipeline.run_log(k.deployment, k.entry));
    const std::string count_runs =
        "SELECT count(*) FROM runs WHERE deployment = $1 AND entry_name = $2 AND outcome = ";
    CHECK(query_long(db.url(), count_runs + "'interrupted'", k.deployment, k.entry) >= 1);
    CHECK(query_long(db.url(), count_runs + "'succeeded'", k.deployment, k.entry) == 1);
    CHECK(record_lines_of(pipeline, k) == 1);
  }

  // Privilege: nothing open to other users; no secret in any file the run produced.
  CHECK(pipeline.open_modes() == std::vector<std::string>{});
  CHECK(pipeline.files_containing(reliability::kSecret) == std::vector<std::string>{});
  CHECK(pipeline.files_containing(reliability::kToken) == std::vector<std::string>{});
}

TEST_CASE("database outage: PostgreSQL stopped mid-burst and started again loses nothing") {
  const int pushes = env_int("DEPLOY_OUTAGE_PUSHES", 200);
  const int outage_s = env_int("DEPLOY_OUTAGE_S", 10);
  test::Cluster cluster;
  ledger::migrate(cluster.url());
  reliability::Pipeline pipeline(cluster.url(), 10);
  const auto started = std::chrono::steady_clock::now();

  std::vector<reliability::Acked> acked;
  auto burst = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      const std::string& d = reliability::kDeployments[static_cast<std::size_t>(i % 2)];
      const auto& shas = pipeline.commits(d);
      const std::string& sha =
          shas[static_cast<std::size_t>(i) * shas.size() / static_cast<std::size_t>(pushes)];
      if (auto a = pipeline.push(d, sha, std::chrono::steady_clock::now() + 30s))
        acked.push_back(*a);
    }
  };
  burst(0, pushes / 2);
  cluster.stop();
  const auto down = std::chrono::steady_clock::now();
  burst(pushes / 2, pushes);  // the receiver never needs the database
  std::this_thread::sleep_until(down + std::chrono::seconds(outage_s));
  REQUIRE(pipeline.all_running());
  cluster.start();
  if (!pipeline.drain(180s))
    FAIL("the pipeline did not drain after the outage\n" << pipeline.logs());
  REQUIRE(pipeline.all_running());  // no program had to be restarted

  auto f = pipeline.verify(acked, cluster.url());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "database outage of " << outage_s << " s: ";
  print("outage", f, static_cast<std::size_t>(pushes), 0, 0, seconds);
  check_invariants(f, acked.size(), pipeline);
  check_checkouts(pipeline, acked);
  CHECK(acked.size() == static_cast<std::size_t>(pushes));
}
