// kill -9 of the router at random instants during a burst of 500 entries, restarted each time:
// every entry ends up routed exactly once. A simulated deployer takes entries out of the queue
// meanwhile (as the real one does), so a router re-running an entry the deployer already took
// would show up as a second take.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "queue-layout/move.hpp"
#include "tests/router/harness.hpp"
#include "tests/support/seed.hpp"

using namespace router_test;

TEST_CASE("kill -9 during a burst of 500 entries: each is routed exactly once") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}});
  const auto& layout = env.layout();
  const int total = 500;

  std::atomic<bool> publishing_done{false};
  std::atomic<bool> stop_deployer{false};
  std::vector<std::string> published;
  std::thread publisher([&] {
    for (int i = 0; i < total; ++i) {
      const std::string id = "burst-" + std::to_string(i);
      published.push_back(env.publish(push_entry(id, PushSpec()), id));
      if (i % 50 == 0) std::this_thread::sleep_for(20ms);  // a burst with small gaps
    }
    publishing_done = true;
  });

  // The simulated deployer: claims each entry it finds and moves it on to done/.
  std::mutex taken_mutex;
  std::map<std::string, int> taken;
  std::map<std::string, ledger::Trigger> triggers;
  std::string deployer_error;
  std::thread deployer([&] {
    try {
      ledger::Ledger ledger(env.url());
      while (!stop_deployer) {
        const auto queued = RouterEnv::entries(layout.queue("durhack"));
        for (const auto& name : queued) {
          const auto trigger = ledger.claim("durhack", name, sha(1), "refs/heads/main");
          if (const auto ec =
                  queue_layout::move_entry(layout.queue("durhack"), layout.done("durhack"), name)) {
            throw std::system_error(ec, "move " + name);
          }
          std::lock_guard lock(taken_mutex);
          ++taken[name];
          triggers[name] = trigger;
        }
        if (queued.empty()) std::this_thread::sleep_for(5ms);
      }
    } catch (const std::exception& e) {
      deployer_error = e.what();
    }
  });

  std::mt19937 random(test::seed());
  std::uniform_int_distribution<int> delay_ms(30, 250);
  int kills = 0;
  env.start();
  while (!publishing_done || kills < 6) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    env.kill9();
    ++kills;
    env.start();
  }
  publisher.join();
  const bool drained = env.wait_inbox_empty(60s);
  const bool delivered =
      test::eventually([&] { return RouterEnv::entries(layout.queue("durhack")).empty(); }, 20s);
  stop_deployer = true;
  deployer.join();
  // The last router started may not have installed its SIGTERM handler yet (it logs "router
  // started" after): one more start, and the stop once it is up, so 0 means a clean shutdown.
  env.kill9();
  const int started = env.count_log("router started");
  env.start();
  CHECK(env.wait_log("router started", started + 1));
  CHECK(env.stop() == 0);
  REQUIRE(deployer_error.empty());
  if (!drained || !delivered) FAIL("not drained; router log tail:\n" << env.log().substr(0, 4000));

  INFO("router killed " << kills << " times");
  CHECK(RouterEnv::files(layout.rejected()).empty());
  CHECK(RouterEnv::entries(layout.done("durhack")).size() == static_cast<std::size_t>(total));
  std::lock_guard lock(taken_mutex);
  CHECK(taken.size() == static_cast<std::size_t>(total));
  int twice = 0, operator_triggered = 0;
  for (const auto& name : published) {
    if (taken[name] != 1) ++twice;
    // Ledger first, link second: the deployer always found the router's queued row.
    if (triggers[name] != ledger::Trigger::webhook) ++operator_triggered;
  }
  CHECK(twice == 0);
  CHECK(operator_triggered == 0);
  // One decision per entry in the ledger, each "routed".
  int not_routed = 0;
  for (int i = 0; i < total; ++i) {
    const auto receipts = env.receipts("burst-" + std::to_string(i));
    if (receipts.size() != 1 || receipts[0].decision != ledger::Decision::routed) ++not_routed;
  }
  CHECK(not_routed == 0);
}
