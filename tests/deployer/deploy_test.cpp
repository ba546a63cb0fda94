// The deploy itself, with the real deployer: the exact pushed commit is checked out (not the
// branch tip), steps run in order in the deployment path with the documented environment, the
// changed files are listed, the run log has headers, output and exit statuses; webhook values
// reach steps only as single argv elements or environment variables, and a ref with shell
// metacharacters is refused before any step runs.
#include <catch2/catch.hpp>

#include "common/entry.hpp"
#include "tests/deployer/harness.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;

TEST_CASE("a push is deployed at its exact commit with the documented environment", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"README.md", "a\n"}, {"server/package.json", "{}\n"}}, "first");
  auto b = h.origin.commit({{"README.md", "b\n"}}, "second");
  auto c = h.origin.commit({{"README.md", "c\n"}}, "third: the branch tip, never deployed here");
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({
      sh_step(
          "record",
          "git rev-parse HEAD >> \"$OUT/head\"; pwd > \"$OUT/pwd\"; "
          "env | grep -E '^(DEPLOY_(DEPLOYMENT|SHA|PREVIOUS_SHA|REF|DELIVERY|ENTRY|CHANGED_FILES)"
          "|INSTANCE_NAME|STEP_ONLY|DATABASE_URL)=' | sort "
          "> \"$OUT/env-$DEPLOY_SHA\"; cp \"$DEPLOY_CHANGED_FILES\" \"$OUT/changed-$DEPLOY_SHA\"; "
          "echo output-of-record; echo on-stderr >&2; echo record >> \"$OUT/order\"",
          {{"env", {{"STEP_ONLY", "yes"}}}}),
      sh_step("second", "echo second >> \"$OUT/order\""),
  });
  auto first = h.webhook_push(a, "refs/heads/main", "delivery-one");
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", first));

  CHECK(test::checked_out(h.app()) == a);
  CHECK(h.out_lines("head") == Lines{a});
  CHECK(h.out_lines("pwd") == Lines{h.app().string()});
  CHECK(h.out_lines("order") == Lines{"record", "second"});
  const auto changed_file = h.dir("logs") / (first + ".changed");
  CHECK(h.out_lines("env-" + a) ==
        Lines{"DEPLOY_CHANGED_FILES=" + changed_file.string(), "DEPLOY_DELIVERY=delivery-one",
              "DEPLOY_DEPLOYMENT=app", "DEPLOY_ENTRY=" + first,
              "DEPLOY_PREVIOUS_SHA=", "DEPLOY_REF=refs/heads/main", "DEPLOY_SHA=" + a,
              "INSTANCE_NAME=app.example.com", "STEP_ONLY=yes"});
  // First deploy: every tracked file counts as changed.
  CHECK(h.out_lines("changed-" + a) == Lines{"README.md", "server/package.json"});

  const std::string log = test::read_file(h.dir("logs") / (first + ".log"));
  CHECK(log.find("=== step 1/2 record: /bin/sh -c") != std::string::npos);
  CHECK(log.find("| output-of-record") != std::string::npos);
  CHECK(log.find("| on-stderr") != std::string::npos);
  CHECK(log.find("=== step 2/2 second exited with status 0") != std::string::npos);
  CHECK(log.find("=== deploy succeeded") != std::string::npos);
  CHECK(h.state_of(first) == "succeeded");
  CHECK(h.ledger().last_deployed_sha("app") == a);

  // The next push: DEPLOY_PREVIOUS_SHA is the deployed commit, and only the diff is listed.
  auto second = h.webhook_push(b);
  REQUIRE(h.wait_in("done", second));
  CHECK(test::checked_out(h.app()) == b);
  auto env_b = h.out_lines("env-" + b);
  CHECK(std::find(env_b.begin(), env_b.end(), "DEPLOY_PREVIOUS_SHA=" + a) != env_b.end());
  CHECK(h.out_lines("changed-" + b) == Lines{"README.md"});
  CHECK(h.ledger().last_deployed_sha("app") == b);
  (void)c;
}

TEST_CASE("webhook values reach a step only as single literal argv elements", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"README.md", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({json{
      {"name", "argv"},
      {"run",
       {"/bin/sh", "-c", "printf '%s\\n' \"$#\" \"$1\" \"$2\" > \"$OUT/argv\"", "argv0",
        "${DEPLOY_REF}", "ref=${DEPLOY_REF} sha=${DEPLOY_SHA}"}},
  }});
  const std::string ref = "refs/heads/release/v1.2_rc-3";
  auto entry = h.operator_replay(a, ref);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  CHECK(h.out_lines("argv") == Lines{"2", ref, "ref=" + ref + " sha=" + a});
}

TEST_CASE("a ref with shell metacharacters is refused before any step runs", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"README.md", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps = json::array({sh_step("marker", "echo ran >> \"$OUT/ran\"")});
  const std::string hostile = "refs/heads/main;touch${IFS}pwned;$(touch pwned2)`touch pwned3`";
  json payload = {{"ref", hostile}, {"after", a}, {"repository", {{"full_name", "example/app"}}}};
  common::EntryMeta meta;
  meta.event = "push";
  auto entry = h.next_name("hostile");
  h.drop(entry, common::write_entry(meta, payload.dump()));
  auto good = h.operator_replay(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", entry));
  REQUIRE(h.wait_in("done", good));

  auto report = json::parse(test::read_file(h.dir("failed") / (entry + ".error.json")));
  CHECK(report["reason"].get<std::string>().find("payload.ref") != std::string::npos);
  CHECK(h.state_of(entry) == "failed");
  // Only the good entry ran the steps; nothing was created by the hostile text anywhere.
  CHECK(h.out_lines("ran") == Lines{"ran"});
  for (const auto* dir : {"app", "out", "var"}) {
    for (const auto& file : std::filesystem::recursive_directory_iterator(h.tmp / dir)) {
      CHECK(file.path().filename().string().find("pwned") == std::string::npos);
    }
  }
}

TEST_CASE("a commit already in the clone is not fetched, a missing one is fetched", "[deployer]") {
  Harness h;
  auto a = h.origin.commit({{"README.md", "a\n"}});
  h.clone();
  h.deployment_extra = {{"env", {{"OUT", h.out().string()}}}};
  h.steps =
      json::array({sh_step("record",
                           "git rev-parse HEAD >> \"$OUT/head\"; cp \"$DEPLOY_CHANGED_FILES\" "
                           "\"$OUT/changed-$DEPLOY_SHA\"")});
  auto first = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", first));
  const std::string log_a = test::read_file(h.dir("logs") / (first + ".log"));
  CHECK(log_a.find("=== git fetch") == std::string::npos);
  CHECK(log_a.find("is already present: not fetching") != std::string::npos);

  // Made after the clone (and after the first deploy, whose replay check reads the branch's tip):
  // b exists only in origin until the deployer fetches it.
  auto b = h.origin.commit({{"README.md", "b\n"}, {"new.txt", "new\n"}});
  auto second = h.webhook_push(b);
  REQUIRE(h.wait_in("done", second));
  const std::string log_b = test::read_file(h.dir("logs") / (second + ".log"));
  CHECK(log_b.find("=== git fetch") != std::string::npos);
  CHECK(log_b.find("not fetching") == std::string::npos);
  CHECK(test::checked_out(h.app()) == b);
  CHECK(h.out_lines("head") == Lines{a, b});
  CHECK(h.out_lines("changed-" + b) == Lines{"README.md", "new.txt"});
  CHECK(h.ledger().last_deployed_sha("app") == b);
}
