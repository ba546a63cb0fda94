// The ledger's PostgreSQL stopped for 10 s in the middle of a stream of entries, then started
// again: nothing is lost, skipped or rejected; routing resumes by itself, in order.
#include <catch2/catch.hpp>

#include <thread>

#include "common/ledger/migrations.hpp"
#include "tests/router/harness.hpp"

using namespace router_test;
using Names = std::vector<std::string>;

TEST_CASE("the database stopped for 10 s mid-stream: every entry is routed once it returns") {
  test::Cluster cluster;
  ledger::migrate(cluster.url());
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}}, 300, cluster.url());
  env.start();
  Names published;
  int n = 0;
  const auto publish_some = [&](int count) {
    for (int i = 0; i < count; ++i, ++n) {
      const std::string id = "outage-" + std::to_string(n);
      published.push_back(env.publish(push_entry(id, PushSpec()), id));
      std::this_thread::sleep_for(20ms);
    }
  };

  publish_some(10);
  if (!env.wait_inbox_empty()) FAIL("not routed before the outage; log:\n" << env.log());

  cluster.stop();
  const auto stopped = std::chrono::steady_clock::now();
  publish_some(20);  // the stream goes on during the outage
  std::this_thread::sleep_for(2s);
  // Held in the inbox, in order; nothing routed, nothing rejected.
  CHECK(RouterEnv::entries(env.inbox()) == Names(published.begin() + 10, published.end()));
  CHECK(RouterEnv::entries(env.layout().queue("durhack")).size() == 10);
  CHECK(RouterEnv::files(env.layout().rejected()).empty());
  CHECK(env.running());
  std::this_thread::sleep_for(10s - (std::chrono::steady_clock::now() - stopped));

  cluster.start();
  publish_some(10);
  if (!env.wait_inbox_empty(30s)) FAIL("not routed after the outage; log:\n" << env.log());
  CHECK(env.stop() == 0);

  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == published);
  CHECK(RouterEnv::files(env.layout().rejected()).empty());
  int not_routed = 0;
  for (int i = 0; i < n; ++i) {
    const auto receipts = env.receipts("outage-" + std::to_string(i));
    if (receipts.size() != 1 || receipts[0].decision != ledger::Decision::routed) ++not_routed;
  }
  CHECK(not_routed == 0);
  // One line when routing pauses, one when it resumes: not one per retry.
  INFO(env.log());
  CHECK(env.count_log("routing paused") == 1);
  CHECK(env.count_log("routing resumed") == 1);
}
