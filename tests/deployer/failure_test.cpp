// Failures: a failing step sends its entry to failed/ with an error report and the queue goes on;
// a step past its timeout has its whole process tree killed; files that cannot be deployed (a
// stray name, broken JSON, another repository, not a push) are set aside in failed/ with their
// reason once they stayed invalid past the settle time, never deleted.
#include <catch2/catch.hpp>

#include "common/entry.hpp"
#include "tests/deployer/harness.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::process_gone;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;

TEST_CASE("a failing step sends the entry to failed/ with its report, and the next entry runs",
          "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  auto b = h.origin.commit({{"file.txt", "b\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}, {"coalesce", false}};
  h.steps = json::array({
      sh_step("check", "echo \"checking $DEPLOY_SHA\"; if [ \"$DEPLOY_SHA\" = " + a +
                           " ]; then echo boom >&2; exit 3; fi"),
      sh_step("after", "echo \"$DEPLOY_SHA\" >> \"$OUT/runs\""),
  });
  auto broken = h.webhook_push(a);
  auto fine = h.webhook_push(b);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", broken));
  REQUIRE(h.wait_in("done", fine));

  REQUIRE(h.in("failed", broken + ".error.json"));
  auto report = json::parse(test::read_file(h.dir("failed") / (broken + ".error.json")));
  CHECK(report["entry"] == broken);
  CHECK(report["sha"] == a);
  CHECK(report["step"] == "check");
  CHECK(report["exit_code"] == 3);
  CHECK(report["reason"].get<std::string>().find("exited with status 3") != std::string::npos);
  auto tail = report["output_tail"].get<std::vector<std::string>>();
  CHECK(tail == Lines{"checking " + a, "boom"});
  CHECK(h.out_lines("runs") == Lines{b});  // "after" never ran for the broken commit
  CHECK(h.state_of(broken) == "failed");
  CHECK(h.state_of(fine) == "succeeded");
  CHECK(h.ledger().last_deployed_sha("app") == b);
}

TEST_CASE("a step past its timeout has its whole process tree killed", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  // The grandchild ignores SIGTERM: only the SIGKILL to the step's process group ends it.
  h.steps = json::array(
      {sh_step("hang",
               "echo $$ > \"$OUT/shell.pid\"; "
               "sh -c 'trap \"\" TERM; echo $$ > \"$OUT/grandchild.pid\"; exec sleep 1000' & wait",
               {{"timeout_s", 1}})});
  auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", entry, std::chrono::seconds(30)));

  auto report = json::parse(test::read_file(h.dir("failed") / (entry + ".error.json")));
  CHECK(report["step"] == "hang");
  CHECK(report["reason"].get<std::string>().find("timed out after 1 s") != std::string::npos);
  CHECK_FALSE(report.contains("exit_code"));
  int shell = std::stoi(test::read_file(h.out() / "shell.pid"));
  int grandchild = std::stoi(test::read_file(h.out() / "grandchild.pid"));
  CHECK(test::eventually([&] { return process_gone(shell); }, std::chrono::seconds(3)));
  CHECK(test::eventually([&] { return process_gone(grandchild); }, std::chrono::seconds(3)));
  auto history = h.ledger().history("app", 1);
  REQUIRE(history.recent.size() == 1);
  auto steps = h.ledger().steps(history.recent[0].id);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].outcome == ledger::StepOutcome::timeout);
}

TEST_CASE("files that stay invalid are set aside in failed/ with their reason", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({sh_step("record", "echo \"$DEPLOY_ENTRY\" >> \"$OUT/runs\"")});

  test::write_file(h.dir("queue") / "deploy.json", "{}\n");  // a stray name
  auto broken_json = h.next_name("broken");
  h.drop(broken_json, "{\"event\": \"push\", \"payload\": {");
  common::EntryMeta meta;
  meta.event = "push";
  auto other_repo = h.next_name("other");
  h.drop(other_repo, common::write_entry(meta, json{{"ref", "refs/heads/main"},
                                                    {"after", a},
                                                    {"repository", {{"full_name", "other/repo"}}}}
                                                   .dump()));
  meta.event = "issues";
  auto not_push = h.next_name("issues");
  h.drop(not_push, common::write_entry(meta, "{\"action\":\"opened\"}"));
  auto good = h.operator_replay(a);

  auto deployer = h.start();
  REQUIRE(h.wait_in("done", good));
  REQUIRE(h.wait_in("failed", "deploy.json"));
  REQUIRE(h.wait_in("failed", broken_json));
  REQUIRE(h.wait_in("failed", other_repo));
  REQUIRE(h.wait_in("failed", not_push));

  CHECK(test::read_file(h.dir("failed") / "deploy.json.reason").find("not a queue entry name") !=
        std::string::npos);
  auto reason = [&](const std::string& entry) {
    return json::parse(test::read_file(h.dir("failed") / (entry + ".error.json")))["reason"]
        .get<std::string>();
  };
  CHECK(reason(broken_json).find("not a valid entry") != std::string::npos);
  CHECK(reason(other_repo).find("repository other/repo") != std::string::npos);
  CHECK(reason(not_push).find("is not a push") != std::string::npos);
  CHECK(h.state_of(broken_json) == "failed");
  CHECK(h.out_lines("runs") == Lines{good});
}

TEST_CASE("a deployment path that is missing or not a clone fails the entry naming the path",
          "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  auto missing = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", missing));
  auto report = json::parse(test::read_file(h.dir("failed") / (missing + ".error.json")));
  CHECK(report["reason"].get<std::string>().find(" does not exist (it must be a clone") !=
        std::string::npos);

  // A folder, but no clone: the deployer looks for .git instead of starting git.
  std::filesystem::create_directories(h.app());
  auto plain = h.webhook_push(a);
  REQUIRE(h.wait_in("failed", plain));
  report = json::parse(test::read_file(h.dir("failed") / (plain + ".error.json")));
  CHECK(report["reason"].get<std::string>().find(h.app().string() + " is not a git working tree") !=
        std::string::npos);
  CHECK(h.state_of(plain) == "failed");
}
