// The files the deployer writes: the failure report beside a failed entry, the commit status
// body, and what a run log says about the run before.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "deployer/failure_report.hpp"
#include "deployer/run_log.hpp"
#include "deployer/status.hpp"
#include "queue-layout/layout.hpp"
#include "tests/support/temp_dir.hpp"

using namespace deployer;

TEST_CASE("the failure report names the step, exit status, reason and last output", "[report]") {
  FailureReport report;
  report.entry = "00000000000000000001-abc.json";
  report.deployment = "app";
  report.sha = "0123456789abcdef0123456789abcdef01234567";
  report.ref = "refs/heads/main";
  report.stage = "step build";
  report.step = "build";
  report.exit_code = 2;
  report.reason = "exited with status 2 after 1.0 s";
  report.output_tail = {"line one", "bad \xff byte"};
  report.log = "/var/logs/app/00000000000000000001-abc.json.log";
  auto json = nlohmann::json::parse(failure_json(report));
  CHECK(json["entry"] == report.entry);
  CHECK(json["step"] == "build");
  CHECK(json["exit_code"] == 2);
  CHECK(json["reason"] == report.reason);
  CHECK(json["output_tail"].size() == 2);
  CHECK(json["output_tail"][0] == "line one");
  CHECK(json["log"] == report.log.string());
  CHECK(json.contains("failed_at"));

  report.step.clear();
  report.exit_code.reset();
  auto no_step = nlohmann::json::parse(failure_json(report));
  CHECK_FALSE(no_step.contains("step"));
  CHECK_FALSE(no_step.contains("exit_code"));
}

TEST_CASE("a newer failure report replaces an older one of the same entry", "[report]") {
  test::TempDir tmp;
  FailureReport report;
  report.entry = "00000000000000000001-abc.json";
  report.deployment = "app";
  report.stage = "entry";
  report.reason = "first";
  REQUIRE_FALSE(publish_failure(tmp.path(), report));
  report.reason = "second";
  REQUIRE_FALSE(publish_failure(tmp.path(), report));
  auto json = nlohmann::json::parse(test::read_file(tmp / (report.entry + ".error.json")));
  CHECK(json["reason"] == "second");
}

TEST_CASE("the status body has state, context and a description of at most 140 bytes", "[report]") {
  std::string long_text(200, 'x');
  long_text[139] = '\xc3';  // a two-byte character straddling the limit must not be split
  long_text[140] = '\xa9';
  auto body = nlohmann::json::parse(status_body(StatusState::failure, long_text, "deploy/app"));
  CHECK(body["state"] == "failure");
  CHECK(body["context"] == "deploy/app");
  CHECK(body["description"].get<std::string>().size() == 139);
  CHECK_FALSE(body.contains("target_url"));
  auto with_url = nlohmann::json::parse(
      status_body(StatusState::pending, "Deploying", "deploy/app", "https://ci.example.com/1"));
  CHECK(with_url["target_url"] == "https://ci.example.com/1");
}

TEST_CASE("a run log whose last run has no ending line is a run left unfinished",
          "[deployer][run_log]") {
  test::TempDir dir("run-log");
  const auto file = dir / "entry.json.log";
  CHECK_FALSE(deployer::run_left_unfinished(file));  // no file: no earlier run
  test::write_file(file, "");
  CHECK_FALSE(deployer::run_left_unfinished(file));
  const std::string started = "2026-12-06T04:00:00.000Z === run started: refs/heads/main at a\n";
  // Killed during a step: our last line is the step's header, then only output.
  test::write_file(file, started + "2026-12-06T04:00:01.000Z === step 1/1 build: make\n" +
                             "2026-12-06T04:00:02.000Z | === looks like ours, is output\n");
  CHECK(deployer::run_left_unfinished(file));
  for (const std::string ending :
       {"deploy succeeded in 1.2 s", "deploy failed after 3.0 s: step build exited with status 1",
        "stale: commit a is the deployed commit a; not deployed", "rollback succeeded in 0.5 s"}) {
    INFO(ending);
    test::write_file(file, started + "2026-12-06T04:00:03.000Z === " + ending + "\n");
    CHECK_FALSE(deployer::run_left_unfinished(file));
  }
  // Stopped by a shutdown: not an ending either.
  test::write_file(file, started +
                             "2026-12-06T04:00:03.000Z === stopped by shutdown: the entry stays "
                             "in active/ and runs again at the next start\n");
  CHECK(deployer::run_left_unfinished(file));
}
