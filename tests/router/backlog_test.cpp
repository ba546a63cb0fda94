// A backlog: 1,000 entries already in the inbox when the router starts are all routed, in
// arrival (name) order, one listing for the batch.
#include <catch2/catch.hpp>

#include "tests/router/harness.hpp"

using namespace router_test;
using Names = std::vector<std::string>;

TEST_CASE("1,000 entries in the inbox at startup are routed in order") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"},
                 {"durhack-staging", "ducompsoc/durhack", "staging"}});
  Names published;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "backlog-" + std::to_string(i);
    const char* ref = i % 2 == 0 ? "refs/heads/main" : "refs/heads/staging";
    published.push_back(env.publish(push_entry(id, PushSpec().on(ref)), id));
  }
  const auto started = std::chrono::steady_clock::now();
  env.start();
  if (!env.wait_inbox_empty(120s))
    FAIL("backlog not drained; log tail:\n" << env.log().substr(0, 4000));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(env.stop() == 0);
  WARN("1,000 entries routed in "
       << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
       << " ms (sanitizer build, including startup)");

  // In order: the log's "entry routed" lines list the names sorted.
  Names logged;
  const std::string log = env.log();
  for (auto at = log.find("entry routed "); at != std::string::npos;
       at = log.find("entry routed ", at + 1)) {
    const auto start = log.find(" entry=", at) + 7;
    logged.push_back(log.substr(start, log.find(' ', start) - start));
  }
  CHECK(logged == published);

  Names main, staging;
  for (std::size_t i = 0; i < published.size(); ++i)
    (i % 2 == 0 ? main : staging).push_back(published[i]);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == main);
  CHECK(RouterEnv::entries(env.layout().queue("durhack-staging")) == staging);
  CHECK(env.ledger().delivery_story("backlog-999").receipts.size() == 1);
}
