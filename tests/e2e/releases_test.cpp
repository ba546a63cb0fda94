// Release mode end to end, with the real things: the demo app (Node.js, PM2 cluster mode with two
// workers, wait_ready, graceful SIGINT) built and switched by the real deployer from a real git
// origin, under constant HTTP load from a client that counts every refused or reset connection,
// non-2xx answer and timeout (demo/load-client.js). docs/releases.md describes what is proved.
#include <catch2/catch.hpp>

#include "tests/e2e/release_rig.hpp"

using namespace std::chrono_literals;
using e2e::Breakage;

TEST_CASE(
    "release mode under load: good deploys, a failed build, a crashing app and a rollback "
    "drop no request") {
  e2e::ReleaseRig rig({});
  const std::string first = rig.commit("first release");
  REQUIRE(rig.deploy(first) == "done");
  INFO(rig.logs());
  REQUIRE(rig.live() == first);
  REQUIRE(rig.served() == first);

  e2e::Load load(rig.root(), rig.app_port());

  // Two good deploys: each switches what answers, through PM2's one-worker-at-a-time reload.
  const std::string second = rig.commit("second release");
  CHECK(rig.deploy(second) == "done");
  CHECK(rig.live() == second);
  CHECK(rig.served() == second);
  const std::string third = rig.commit("third release");
  CHECK(rig.deploy(third) == "done");
  CHECK(rig.live() == third);
  CHECK(rig.served() == third);
  const auto releases = rig.site() / "releases";

  // A build failure: the release is discarded before anything live changes.
  std::size_t kept = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(releases)) ++kept;
  const std::string unbuildable = rig.commit("a syntax error", Breakage::build_fails);
  CHECK(rig.deploy(unbuildable) == "failed");
  CHECK(rig.live() == third);
  CHECK(rig.served() == third);
  std::size_t after = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(releases)) ++after;
  CHECK(after == kept);  // the failed release's folder is gone

  // An app that crashes at start passes the build but never its preflight: PM2 never sees it.
  const std::string crashing = rig.commit("crashes at start", Breakage::crashes_at_start);
  CHECK(rig.deploy(crashing) == "failed");
  CHECK(rig.live() == third);
  CHECK(rig.served() == third);

  // deployctl rollback: back to the release before the live one, no rebuild.
  const auto rollback = rig.deployctl({"rollback", "app", "--wait"});
  INFO(rollback.output);
  CHECK(rollback.status == 0);
  CHECK(rig.live() == second);
  CHECK(rig.served() == second);

  const auto summary = load.stop();
  INFO(summary.text);
  INFO(load.failures());
  CHECK(summary.failed == 0);
  CHECK(summary.requests > 100);
  CHECK(summary.ok == summary.requests);
  // Every good version answered at some point; the broken ones never did.
  CHECK(summary.versions.count(third) == 1);
  CHECK(summary.versions.count(second) == 1);
  CHECK(summary.versions.count(unbuildable) == 0);
  CHECK(summary.versions.count(crashing) == 0);
}

TEST_CASE(
    "release mode: an app that fails its health check after the switch is rolled back "
    "automatically and the previous version answers again") {
  // No preflight here: the health check after the switch is the last guard, and this commit's
  // app starts, says it is ready, and answers 503 on /up.
  e2e::ReleaseRig rig({.preflight = false, .health_timeout_s = 5});
  const std::string good = rig.commit("good release");
  REQUIRE(rig.deploy(good) == "done");
  INFO(rig.logs());
  REQUIRE(rig.served() == good);

  const std::string unhealthy = rig.commit("unhealthy", Breakage::unhealthy);
  CHECK(rig.deploy(unhealthy) == "failed");
  CHECK(rig.live() == good);
  // The activate steps ran again in the previous release: its version answers, on every worker.
  CHECK(test::eventually([&] { return rig.served() == good; }, 30s));
  for (int i = 0; i < 10; ++i) CHECK(rig.served() == good);

  // The run log says it was rolled back.
  const auto logs = rig.deployctl({"logs", "app"});
  INFO(logs.output);
  CHECK(logs.output.find("roll") != std::string::npos);
}
