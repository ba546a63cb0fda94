// The real router routing pushes by repository and branch, answering pings, ignoring other
// events, branch deletions and tags by configuration, and refusing to start when it must.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/ledger/migrations.hpp"
#include "tests/router/harness.hpp"

using namespace router_test;
using Names = std::vector<std::string>;

namespace {

std::vector<DeploymentSpec> durhack_deployments() {
  return {{"durhack", "ducompsoc/durhack", "main"},
          {"durhack-staging", "ducompsoc/durhack", "staging"},
          {"other", "someone/else", "main"}};
}

// Runs the router until the inbox is empty, then stops it with SIGTERM (must exit 0).
void drain(RouterEnv& env) {
  env.start();
  if (!env.wait_inbox_empty()) FAIL("inbox not drained; router log:\n" << env.log());
  const int status = env.stop();
  if (status != 0) FAIL("router exit status " << status << "; log:\n" << env.log());
}

const ledger::DeliveryRecord& only_receipt(RouterEnv& env, const std::string& id,
                                           std::vector<ledger::DeliveryRecord>& store) {
  store = env.receipts(id);
  REQUIRE(store.size() == 1);
  return store.front();
}

}  // namespace

TEST_CASE("a push is routed to the deployment whose repository and branch match") {
  RouterEnv env(durhack_deployments());
  // GitHub may spell the repository in another case than the configuration.
  const std::string main_text =
      push_entry("d-main", PushSpec().in("DUCOMPSOC/DurHack").on("refs/heads/main").at(sha(7)));
  const auto main = env.publish(main_text, "d-main");
  const auto staging =
      env.publish(push_entry("d-staging", PushSpec().on("refs/heads/staging")), "d-staging");
  const auto feature =
      env.publish(push_entry("d-feature", PushSpec().on("refs/heads/feature")), "d-feature");
  const auto unknown = env.publish(
      push_entry("d-unknown", PushSpec().in("nobody/here").on("refs/heads/main")), "d-unknown");
  drain(env);

  const auto& layout = env.layout();
  CHECK(RouterEnv::entries(layout.queue("durhack")) == Names{main});
  CHECK(RouterEnv::entries(layout.queue("durhack-staging")) == Names{staging});
  CHECK(RouterEnv::entries(layout.queue("other")).empty());
  CHECK(RouterEnv::files(layout.rejected()).empty());
  // The queued file is the inbox entry itself, byte for byte.
  CHECK(test::read_file(layout.queue("durhack") / main) == main_text);

  std::vector<ledger::DeliveryRecord> store;
  const auto& routed = only_receipt(env, "d-main", store);
  CHECK(routed.decision == ledger::Decision::routed);
  CHECK(routed.entry_name == main);
  CHECK(routed.key.hook_id == "42");
  CHECK(routed.event == "push");
  CHECK(routed.reason == "to durhack");
  CHECK(routed.received_at.has_value());
  const auto item = env.ledger().queue_item("durhack", main);
  REQUIRE(item);
  CHECK(item->state == ledger::QueueState::queued);
  CHECK(item->trigger == ledger::Trigger::webhook);
  CHECK(item->sha == sha(7));
  CHECK(item->ref == "refs/heads/main");
  CHECK(item->delivery == ledger::DeliveryKey{"42", "d-main"});

  CHECK(only_receipt(env, "d-staging", store).reason == "to durhack-staging");
  const auto& ignored = only_receipt(env, "d-feature", store);
  CHECK(ignored.decision == ledger::Decision::ignored);
  CHECK(ignored.reason == "no enabled deployment watches ducompsoc/durhack@feature");
  CHECK(only_receipt(env, "d-unknown", store).reason ==
        "no enabled deployment watches nobody/here");

  // Every decision is logged with the delivery, the entry and the deployments.
  CHECK(env.count_log("entry routed delivery=d-main entry=" + main + " deployments=durhack ") == 1);
  CHECK(env.count_log("entry ignored delivery=d-feature entry=" + feature) == 1);
  CHECK(env.count_log("entry ignored delivery=d-unknown entry=" + unknown) == 1);
}

TEST_CASE("a push matching two deployments is hard-linked into both queues") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"},
                 {"durhack-mirror", "ducompsoc/durhack", "main"},
                 {"durhack-off", "ducompsoc/durhack", "main", /*enabled=*/false}});
  const auto name = env.publish(push_entry("two-1", PushSpec()), "two-1");
  drain(env);

  const auto& layout = env.layout();
  CHECK(RouterEnv::entries(layout.queue("durhack")) == Names{name});
  CHECK(RouterEnv::entries(layout.queue("durhack-mirror")) == Names{name});
  CHECK(RouterEnv::entries(layout.queue("durhack-off")).empty());
  struct ::stat a {};
  struct ::stat b {};
  REQUIRE(::stat((layout.queue("durhack") / name).c_str(), &a) == 0);
  REQUIRE(::stat((layout.queue("durhack-mirror") / name).c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);  // one file, two names: no copy
  CHECK(a.st_nlink == 2);       // and no longer in the inbox

  const auto receipts = env.receipts("two-1");
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0].reason == "to durhack,durhack-mirror");
  CHECK(env.ledger().queue_item("durhack", name));
  CHECK(env.ledger().queue_item("durhack-mirror", name));
  CHECK_FALSE(env.ledger().queue_item("durhack-off", name));
  CHECK(env.count_log("deployments=durhack,durhack-mirror ref=") == 1);
}

TEST_CASE("a ping is recorded and removed and other events are ignored with the reason") {
  RouterEnv env(durhack_deployments());
  const auto ping = env.publish(
      event_entry("p-1", "ping", R"({"zen":"Keep it logically awesome.","hook_id":42})"), "p-1");
  env.publish(event_entry("i-1", "issues", R"({"action":"opened"})"), "i-1");
  env.publish(event_entry("pr-1", "pull_request", R"({"action":"closed"})"), "pr-1");
  // An event without a delivery id (hand-written) is handled the same, only not in the ledger.
  const auto anonymous = env.publish(event_entry("", "star", "{}", ""), "anon");
  drain(env);

  std::vector<ledger::DeliveryRecord> store;
  const auto& pinged = only_receipt(env, "p-1", store);
  CHECK(pinged.decision == ledger::Decision::ping);
  CHECK(pinged.entry_name == ping);
  CHECK(pinged.event == "ping");
  const auto& issues = only_receipt(env, "i-1", store);
  CHECK(issues.decision == ledger::Decision::ignored);
  CHECK(issues.reason == "event \"issues\" is not routed");
  CHECK(only_receipt(env, "pr-1", store).reason == "event \"pull_request\" is not routed");
  CHECK(env.count_log("ping recorded delivery=p-1 entry=" + ping) == 1);
  CHECK(env.count_log("entry ignored delivery=- entry=" + anonymous + " event=star") == 1);
  for (const auto& d : {"durhack", "durhack-staging", "other"}) {
    CHECK(RouterEnv::entries(env.layout().queue(d)).empty());
  }
  CHECK(RouterEnv::files(env.layout().rejected()).empty());
}

TEST_CASE("a branch deletion is routed only to deployments with deletions: true") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"},
                 {"preview", "ducompsoc/durhack", "preview", true, false, /*deletions=*/true}});
  env.publish(push_entry("del-main", PushSpec().on("refs/heads/main").deleting()), "del-main");
  const auto preview = env.publish(
      push_entry("del-preview", PushSpec().on("refs/heads/preview").deleting()), "del-preview");
  drain(env);

  CHECK(RouterEnv::entries(env.layout().queue("durhack")).empty());
  CHECK(RouterEnv::entries(env.layout().queue("preview")) == Names{preview});
  std::vector<ledger::DeliveryRecord> store;
  const auto& ignored = only_receipt(env, "del-main", store);
  CHECK(ignored.decision == ledger::Decision::ignored);
  CHECK(ignored.reason ==
        "push deletes refs/heads/main: no enabled deployment of it has \"deletions\": true");
  CHECK(only_receipt(env, "del-preview", store).decision == ledger::Decision::routed);
}

TEST_CASE("a tag push is routed only to deployments with tags: true") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"},
                 {"releases", "ducompsoc/durhack", "main", true, /*tags=*/true},
                 {"other", "someone/else", "main"}});
  const auto tag = env.publish(push_entry("tag-1", PushSpec().on("refs/tags/v1.2.0")), "tag-1");
  env.publish(push_entry("tag-2", PushSpec().in("someone/else").on("refs/tags/v2")), "tag-2");
  drain(env);

  CHECK(RouterEnv::entries(env.layout().queue("releases")) == Names{tag});
  CHECK(RouterEnv::entries(env.layout().queue("durhack")).empty());
  CHECK(RouterEnv::entries(env.layout().queue("other")).empty());
  std::vector<ledger::DeliveryRecord> store;
  CHECK(only_receipt(env, "tag-1", store).reason == "to releases");
  CHECK(only_receipt(env, "tag-2", store).reason ==
        "tag push refs/tags/v2: no enabled deployment of someone/else has \"tags\": true");
}

TEST_CASE("the router refuses to start on a bad configuration or an old ledger schema") {
  test::Database unmigrated;
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}}, 300, unmigrated.url());
  const auto waiting = env.publish(push_entry("s-1", PushSpec()), "s-1");
  // A temporary left by a dead publisher (no process has this pid) is removed at startup.
  test::write_file(env.inbox() / ".00000000000000000001-x.json.99999999.tmp", "partial");

  env.start();
  REQUIRE(test::eventually([&] { return !env.running(); }, 20s));
  CHECK(env.stop() == 1);
  INFO(env.log());
  CHECK(env.count_log("router: error: ledger schema is at version 0") == 1);
  CHECK(env.count_log("run `deployctl migrate`") == 1);
  CHECK(RouterEnv::files(env.inbox()) == Names{waiting});  // untouched, temporary gone

  // Migrated: it starts and routes.
  ledger::migrate(env.url());
  drain(env);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{waiting});
}

TEST_CASE("the router refuses an invalid configuration before touching the inbox") {
  test::TempDir dir("router-config");
  std::filesystem::create_directories(dir / "state" / "inbox");
  test::write_file(dir / "state" / "inbox" / "00000000000000000001-x.json", "{}");
  test::write_file(dir / "bad.json", R"({"instance": "x", "state_dir": "state", "deployments": {
      "durhack": {"repository": "ducompsoc/durhack", "branch": "main", "path": "/srv",
                  "steps": [], "colour": "blue"}}})");
  const auto result =
      test::run({test::bin("router").string(), "--config", (dir / "bad.json").string()},
                {{"DEPLOY_ALLOW_ROOT", "1"}, {"DATABASE_URL", "host=/nonexistent"}});
  CHECK(result.status == 1);
  CHECK(result.output.find("deployments.durhack.colour") != std::string::npos);
  CHECK(RouterEnv::files(dir / "state" / "inbox") == Names{"00000000000000000001-x.json"});
  CHECK_FALSE(std::filesystem::exists(dir / "state" / "rejected"));
}

TEST_CASE("check events wake the deployments that wait for checks of their repository") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main", true, false, false, true},
                 {"durhack-staging", "ducompsoc/durhack", "staging"},
                 {"other", "someone/else", "main"}});
  const std::string sha(40, 'c');
  // Shapes of GitHub's check_run, workflow_run and status payloads (the fields the router reads).
  env.publish(
      event_entry("cr-1", "check_run",
                  R"({"action":"completed","check_run":{"id":1,"name":"test","head_sha":")" + sha +
                      R"(","status":"completed","conclusion":"success"},)"
                      R"("repository":{"full_name":"DUCOMPSOC/durhack"}})"),
      "cr-1");
  env.publish(event_entry("st-1", "status",
                          R"({"sha":")" + sha +
                              R"(","context":"ci","state":"success",)"
                              R"("repository":{"full_name":"someone/else"}})"),
              "st-1");
  drain(env);

  const auto nudge = env.layout().root() / "checks" / "durhack";
  CHECK(std::filesystem::exists(nudge));
  CHECK_FALSE(std::filesystem::exists(env.layout().root() / "checks" / "durhack-staging"));
  CHECK_FALSE(std::filesystem::exists(env.layout().root() / "checks" / "other"));
  std::vector<ledger::DeliveryRecord> store;
  const auto& routed = only_receipt(env, "cr-1", store);
  CHECK(routed.decision == ledger::Decision::routed);
  CHECK(routed.reason == "checks of ccccccc to durhack");
  const auto& ignored = only_receipt(env, "st-1", store);
  CHECK(ignored.decision == ledger::Decision::ignored);
  CHECK(ignored.reason == "no enabled deployment of someone/else waits for checks");
  // Nothing is queued: a check event is a wake-up, not a deploy.
  for (const auto& d : {"durhack", "durhack-staging", "other"}) {
    CHECK(RouterEnv::entries(env.layout().queue(d)).empty());
  }

  // The next one moves the file's time forward: that is what the waiting deployer notices.
  const auto before = std::filesystem::last_write_time(nudge);
  std::filesystem::last_write_time(nudge, before - std::chrono::hours(1));
  env.publish(event_entry("ws-1", "workflow_run",
                          R"({"action":"completed","workflow_run":{"id":2,"head_sha":")" + sha +
                              R"(","conclusion":"success"},)"
                              R"("repository":{"full_name":"ducompsoc/durhack"}})"),
              "ws-1");
  drain(env);
  CHECK(std::filesystem::last_write_time(nudge) > before - std::chrono::minutes(1));
  CHECK(only_receipt(env, "ws-1", store).decision == ledger::Decision::routed);
}
