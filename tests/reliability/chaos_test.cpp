// chaos_test.cpp: crash chaos and a database outage over the whole pipeline (pipeline.hpp).
//
// Crash chaos: a burst of signed pushes over two deployments (DEPLOY_CHAOS_PUSHES, default
// 1000) while a killer thread sends SIGKILL to a random program at random moments and restarts
// it. Then every program runs undisturbed until the pipeline is drained, and every invariant of
// pipeline.hpp is checked: each acknowledged delivery ends in exactly one final state per
// deployment, none lost, none deployed twice, no partial entry, the ledger agrees with done/.
// Also checked on the same run: nothing under the state directory is open to other users, and
// neither the webhook secret nor the GitHub token appears in any log, run log or error file.
//
// Database outage: the ledger's private PostgreSQL cluster is stopped in the middle of a burst
// for DEPLOY_OUTAGE_S seconds (default 10), then started; without restarting any program,
// everything is routed and deployed.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "common/ledger/migrations.hpp"
#include "tests/reliability/pipeline.hpp"
#include "tests/support/pg.hpp"

using namespace std::chrono_literals;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

void print(const char* what, const reliability::Figures& f, std::size_t sent, int kills,
           double seconds) {
  std::cout << what << ": sent " << sent << ", acknowledged " << f.acked << ", deployed "
            << f.deployed << ", superseded " << f.superseded << ", stale " << f.stale << ", lost "
            << f.lost << ", duplicated " << f.duplicated << ", successful runs " << f.runs_succeeded
            << ", interrupted runs " << f.runs_interrupted << ", steps re-run after a kill "
            << f.reruns_after_kill << ", kills survived " << kills << ", partial entries "
            << f.partial_entries << ", ledger/folder mismatches " << f.folder_mismatches
            << ", failed " << f.failed << ", rejected " << f.rejected << ", " << seconds << " s"
            << std::endl;
}

void check_invariants(const reliability::Figures& f, std::size_t acked, reliability::Pipeline& p) {
  for (const auto& line : f.problems) UNSCOPED_INFO(line);
  INFO(p.logs());
  CHECK(f.acked == acked);
  CHECK(f.lost == 0);
  CHECK(f.duplicated == 0);
  CHECK(f.partial_entries == 0);
  CHECK(f.folder_mismatches == 0);
  CHECK(f.failed == 0);
  CHECK(f.rejected == 0);
  CHECK(f.deployed + f.superseded + f.stale == acked);
}

}  // namespace

TEST_CASE("crash chaos: kill -9 of any program during a burst loses and duplicates nothing") {
  const int pushes = env_int("DEPLOY_CHAOS_PUSHES", 1000);
  const int commits = 25;
  test::Database db;
  ledger::migrate(db.url());
  reliability::Pipeline pipeline(db.url(), commits);
  const auto programs = pipeline.programs();
  const auto started = std::chrono::steady_clock::now();

  std::atomic<bool> stop{false};
  std::atomic<int> kills{0};
  std::string restart_error;  // written by the killer thread, read after join()
  std::thread killer([&] {
    std::mt19937 rng(static_cast<unsigned>(env_int("DEPLOY_CHAOS_SEED", 8)));
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
  for (int i = 0; i < pushes; ++i) {
    const std::string& d = reliability::kDeployments[static_cast<std::size_t>(i % 2)];
    // The same commit sequence for both deployments: each commit is pushed several times.
    const auto& shas = pipeline.commits(d);
    const std::string& sha =
        shas[static_cast<std::size_t>(i) * shas.size() / static_cast<std::size_t>(pushes)];
    if (auto a = pipeline.push(d, sha, std::chrono::steady_clock::now() + 30s)) acked.push_back(*a);
  }
  // Keep killing while the backlog is worked off, then let it finish undisturbed.
  std::this_thread::sleep_for(5s);
  stop = true;
  killer.join();
  INFO(pipeline.logs());
  REQUIRE(restart_error.empty());
  REQUIRE(pipeline.all_running());
  // Superseding the backlog costs the deployer about 0.1 s per entry under ASan on a loaded
  // machine: allow for it in the longer variants.
  const auto drain_timeout = 240s + std::chrono::milliseconds(100) * pushes;
  if (!pipeline.drain(drain_timeout)) FAIL("the pipeline did not drain\n" << pipeline.logs());

  auto f = pipeline.verify(acked, db.url());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  print("crash chaos", f, static_cast<std::size_t>(pushes), kills, seconds);
  check_invariants(f, acked.size(), pipeline);
  CHECK(f.deployed > 0);
  CHECK(acked.size() >= static_cast<std::size_t>(pushes) * 95 / 100);

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
  print("outage", f, static_cast<std::size_t>(pushes), 0, seconds);
  check_invariants(f, acked.size(), pipeline);
  CHECK(acked.size() == static_cast<std::size_t>(pushes));
}
