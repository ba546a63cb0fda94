// Release mode with the real deployer, real git, real processes and real HTTP: a small Node.js
// app (tests/deployer/release_app.hpp) is the deployed site. An activate step (re)starts it from
// path/current, the preflight starts it on a free port, the health check asks it which version
// answers. Checked: the layout (releases/, current, REVISION, shared links, the DEPLOY_* release
// variables), a failing build and a preflight that never passes leave `current` and the
// answering version untouched, a health check or an activate step that fails rolls back with the
// old version answering again, retention, reuse used and skipped, rollback entries (previous and
// --to), and the replay rule after a rollback.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>

#include "common/rollback_entry.hpp"
#include "tests/deployer/release_site.hpp"
#include "tests/support/http.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;

using test::deployer::get;
using test::deployer::ReleaseSite;
namespace fs = std::filesystem;

TEST_CASE("release mode: release folders and current and REVISION and shared links and variables",
          "[deployer][releases]") {
  ReleaseSite site;
  Harness& h = site.h;
  site.h.deployment_extra["releases"] = {{"keep", 2}, {"shared", {".env", "uploads"}}};
  h.steps = json::array({sh_step(
      "record",
      "pwd > \"$OUT/pwd-$DEPLOY_SHA\"; env | grep -E '^DEPLOY_(RELEASE_DIR|PREVIOUS_RELEASE_DIR|"
      "ROOT)=' | sort > \"$OUT/env-$DEPLOY_SHA\"; test ! -e REVISION && echo built > built.txt")});
  const auto a = site.commit("a", {{".env", "committed default\n"}});
  const auto b = site.commit("b");
  const auto c = site.commit("c");
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto release_a = site.live_release();
  CHECK(site.live_revision() == a);
  CHECK(fs::read_symlink(site.current()) == fs::path("releases") / release_a);
  CHECK(h.out_lines("pwd-" + a) == Lines{(h.app() / "releases" / release_a).string()});
  CHECK(h.out_lines("env-" + a) ==
        Lines{"DEPLOY_PREVIOUS_RELEASE_DIR=",
              "DEPLOY_RELEASE_DIR=" + (h.app() / "releases" / release_a).string(),
              "DEPLOY_ROOT=" + h.app().string()});
  // The steps ran before REVISION existed; REVISION holds the full commit.
  CHECK(test::read_file(site.current() / "built.txt") == "built\n");
  CHECK(test::read_file(site.current() / "REVISION") == a + "\n");
  // Shared entries: links into path/shared/, created empty; the commit's own .env gives way.
  CHECK(fs::is_symlink(site.current() / ".env"));
  CHECK(fs::is_symlink(site.current() / "uploads"));
  CHECK(fs::is_regular_file(h.app() / "shared/.env"));
  CHECK(fs::is_directory(h.app() / "shared/uploads"));
  test::write_file(h.app() / "shared/uploads/photo.jpg", "jpeg");
  CHECK(test::read_file(site.current() / "uploads/photo.jpg") == "jpeg");
  CHECK(fs::is_directory(h.app() / "repo.git"));

  const auto second = h.webhook_push(b);
  REQUIRE(h.wait_in("done", second));
  const auto release_b = site.live_release();
  CHECK(release_b > release_a);
  CHECK(h.out_lines("env-" + b) ==
        Lines{"DEPLOY_PREVIOUS_RELEASE_DIR=" + (h.app() / "releases" / release_a).string(),
              "DEPLOY_RELEASE_DIR=" + (h.app() / "releases" / release_b).string(),
              "DEPLOY_ROOT=" + h.app().string()});
  CHECK(test::read_file(site.current() / "uploads/photo.jpg") == "jpeg");

  // keep 2: after the third deploy the oldest is gone, the live one and the one before stay.
  const auto third = h.webhook_push(c);
  REQUIRE(h.wait_in("done", third));
  CHECK(site.live_revision() == c);
  const auto kept = site.releases();
  REQUIRE(kept.size() == 2);
  CHECK(kept[0] == release_b);
  CHECK(kept[1] == site.live_release());
  const auto rows = h.ledger().releases("app");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].outcome == ledger::ReleaseOutcome::deployed);
  CHECK(rows[2].name == release_a);
  CHECK(rows[2].removed_at.has_value());
  CHECK(rows[0].sha == c);
}

TEST_CASE("release mode: a failing build or preflight leaves current and the site untouched",
          "[deployer][releases]") {
  ReleaseSite site;
  Harness& h = site.h;
  site.with_app();
  h.steps = json::array({sh_step("build", "test \"$(cat VERSION)\" != broken")});
  const auto a = site.commit("a");
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto release_a = site.live_release();
  CHECK(get(site.port) == "200 a " + a);

  const auto broken = site.commit("broken");
  const auto second = h.webhook_push(broken);
  REQUIRE(h.wait_in("failed", second));
  CHECK(site.live_release() == release_a);
  CHECK(site.releases() == Lines{release_a});  // the failed release's folder is removed
  CHECK(get(site.port) == "200 a " + a);
  CHECK(test::read_file(h.dir("logs") / (second + ".log")).find("current unchanged") !=
        std::string::npos);

  // An app that exits at start fails its preflight: never switched to, never activated.
  const auto crash = site.commit("crash");
  const auto third = h.webhook_push(crash);
  REQUIRE(h.wait_in("failed", third));
  CHECK(site.live_release() == release_a);
  CHECK(site.releases() == Lines{release_a});
  CHECK(get(site.port) == "200 a " + a);
  const auto report = json::parse(test::read_file(h.dir("failed") / (third + ".error.json")));
  CHECK(report["stage"] == "preflight");
  CHECK(report["reason"].get<std::string>().find("the program ended before passing") !=
        std::string::npos);
  const auto rows = h.ledger().releases("app");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].outcome == ledger::ReleaseOutcome::failed);
  CHECK(rows[1].outcome == ledger::ReleaseOutcome::failed);
  CHECK(rows[2].outcome == ledger::ReleaseOutcome::deployed);
}

TEST_CASE("release mode: a health check that never passes rolls back and the old version answers",
          "[deployer][releases]") {
  ReleaseSite site;
  Harness& h = site.h;
  site.with_app(/*preflight=*/false);
  h.deployment_extra["health_check"]["timeout_s"] = 2;
  const auto a = site.commit("a");
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto release_a = site.live_release();
  CHECK(get(site.port) == "200 a " + a);

  const auto sick = site.commit("sick");
  const auto second = h.webhook_push(sick);
  REQUIRE(h.wait_in("failed", second, std::chrono::seconds(40)));
  CHECK(site.live_release() == release_a);
  CHECK(site.releases() == Lines{release_a});
  // The activate steps ran again in the old release: it answers once it has started.
  CHECK(test::eventually([&] { return get(site.port) == "200 a " + a; }));
  const auto report = json::parse(test::read_file(h.dir("failed") / (second + ".error.json")));
  CHECK(report["stage"] == "health check");
  CHECK(report["reason"].get<std::string>().find("rolled back to release " + release_a) !=
        std::string::npos);
  CHECK(h.ledger().last_deployed_sha("app") == a);
  const auto rows = h.ledger().releases("app");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].outcome == ledger::ReleaseOutcome::rolled_back);
  CHECK(h.state_of(second) == "failed");
}

TEST_CASE("release mode: an activate step that fails rolls back", "[deployer][releases]") {
  ReleaseSite site;
  Harness& h = site.h;
  site.with_app(false, false);
  h.deployment_extra["activate"].push_back(
      sh_step("check", "test \"$(cat VERSION)\" != noactivate"));
  const auto a = site.commit("a");
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto release_a = site.live_release();
  const auto bad = site.commit("noactivate");
  const auto second = h.webhook_push(bad);
  REQUIRE(h.wait_in("failed", second));
  CHECK(site.live_release() == release_a);
  CHECK(test::eventually([&] { return get(site.port) == "200 a " + a; }));
  const auto report = json::parse(test::read_file(h.dir("failed") / (second + ".error.json")));
  CHECK(report["stage"] == "activate check");
}

TEST_CASE("release mode: reuse copies node_modules unless the lockfile changed",
          "[deployer][releases]") {
  ReleaseSite site;
  Harness& h = site.h;
  h.deployment_extra["releases"] = {
      {"reuse", {{{"path", "node_modules"}, {"unless_changed", {"package-lock.json"}}}}}};
  // The "install" counts itself and writes node_modules; only_if_changed skips it when reused.
  h.steps = json::array(
      {sh_step("install",
               "echo installed >> \"$OUT/installs\"; mkdir -p node_modules; "
               "cat package-lock.json > node_modules/lock-copy",
               {{"only_if_changed", {"package-lock.json"}}}),
       sh_step("build", "test -f node_modules/lock-copy && echo touched >> node_modules/touched")});
  const auto a = site.commit("a", {{"package-lock.json", "v1\n"}});
  const auto b = site.commit("b");
  const auto c = site.commit("c", {{"package-lock.json", "v2\n"}});
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto release_a = site.live_release();
  const auto second = h.webhook_push(b);
  REQUIRE(h.wait_in("done", second));
  CHECK(h.out_lines("installs") == Lines{"installed"});  // reused: no second install
  CHECK(test::read_file(site.current() / "node_modules/lock-copy") == "v1\n");
  // A copy, not links: the build wrote into the new release's copy only.
  CHECK(test::read_file(site.current() / "node_modules/touched") == "touched\ntouched\n");
  CHECK(test::read_file(h.app() / "releases" / release_a / "node_modules/touched") == "touched\n");
  CHECK(test::read_file(h.dir("logs") / (second + ".log")).find("reuse node_modules: copied") !=
        std::string::npos);
  const auto third = h.webhook_push(c);
  REQUIRE(h.wait_in("done", third));
  CHECK(h.out_lines("installs") == Lines{"installed", "installed"});
  CHECK(test::read_file(site.current() / "node_modules/lock-copy") == "v2\n");
  CHECK(test::read_file(h.dir("logs") / (third + ".log"))
            .find("reuse node_modules skipped: a file of unless_changed changed") !=
        std::string::npos);
}

TEST_CASE(
    "release mode: rollback entries switch without rebuilding and the replay rule holds after",
    "[deployer][releases]") {
  ReleaseSite site;
  Harness& h = site.h;
  site.with_app(false);
  h.steps = json::array({sh_step("build", "echo \"$DEPLOY_SHA\" >> \"$OUT/builds\"")});
  const auto a = site.commit("a");
  const auto b = site.commit("b");
  const auto c = site.commit("c");
  auto deployer = h.start();
  for (const auto& sha : {a, b, c}) REQUIRE(h.wait_in("done", h.webhook_push(sha)));
  const auto kept = site.releases();
  REQUIRE(kept.size() == 3);
  CHECK(get(site.port) == "200 c " + c);

  // deployctl rollback without --to: the release before the live one; nothing is built.
  std::map<std::string, std::string> env{{"DATABASE_URL", h.database.url()}};
  const auto rolled = test::run({test::bin("deployctl").string(), "--config",
                                 h.config_file().string(), "rollback", "app", "--wait"},
                                env);
  INFO(rolled.output);
  REQUIRE(rolled.status == 0);
  const auto back = rolled.output.substr(0, rolled.output.find(".json") + 5);
  REQUIRE(h.wait_in("done", back));
  CHECK(site.live_release() == kept[1]);
  CHECK(test::eventually([&] { return get(site.port) == "200 b " + b; }));
  CHECK(h.out_lines("builds") == Lines{a, b, c});
  CHECK(h.ledger().last_deployed_sha("app") == b);
  const auto state = h.ledger().deployed_state("app");
  CHECK(state.sha == b);
  CHECK(state.high_water_sha == c);

  // A resent push of the rolled-back-from commit changes nothing, nor does an older one.
  const auto resent = h.webhook_push(c);
  REQUIRE(h.wait_in("done", resent));
  CHECK(h.state_of(resent) == "stale");
  CHECK(h.ledger().queue_item("app", resent)->reason.find("rolled back from") != std::string::npos);
  CHECK(site.live_release() == kept[1]);

  // --to a commit (a prefix of it) and --to a release name.
  const auto to_a = site.rollback(a.substr(0, 10));
  REQUIRE(h.wait_in("done", to_a));
  CHECK(site.live_release() == kept[0]);
  CHECK(test::eventually([&] { return get(site.port) == "200 a " + a; }));
  CHECK(h.ledger().deployed_state("app").high_water_sha == c);
  const auto to_c = site.rollback(kept[2]);
  REQUIRE(h.wait_in("done", to_c));
  CHECK(site.live_release() == kept[2]);
  CHECK(test::eventually([&] { return get(site.port) == "200 c " + c; }));

  // A target that is not kept fails the entry with the reason; nothing moves.
  const auto nowhere = site.rollback(std::string(40, 'e'));
  REQUIRE(h.wait_in("failed", nowhere));
  CHECK(site.live_release() == kept[2]);

  // Only a strict descendant of the rolled-back-from commit deploys from a webhook.
  const auto d = site.commit("d");
  const auto forward = h.webhook_push(d);
  REQUIRE(h.wait_in("done", forward));
  CHECK(h.state_of(forward) == "succeeded");
  CHECK(test::eventually([&] { return get(site.port) == "200 d " + d; }));
  CHECK(h.out_lines("builds") == Lines{a, b, c, d});
}

TEST_CASE("the replay rule: a webhook push of a commit no longer on the branch is not deployed",
          "[deployer][releases]") {
  Harness h;
  const auto a = h.origin.commit({{"README.md", "a\n"}});
  // A commit on another branch: signed pushes of it must not deploy to main.
  const auto other = h.origin.commit({{"README.md", "other\n"}}, "elsewhere", "feature");
  h.clone();
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto foreign = h.webhook_push(other);
  REQUIRE(h.wait_in("done", foreign));
  CHECK(h.state_of(foreign) == "stale");
  CHECK(h.ledger().queue_item("app", foreign)->reason.find("is not on refs/heads/main") !=
        std::string::npos);
  CHECK(test::checked_out(h.app()) == a);
  // An operator's entry keeps its power to deploy anything.
  const auto replay = h.operator_replay(other);
  REQUIRE(h.wait_in("done", replay));
  CHECK(test::checked_out(h.app()) == other);
}
