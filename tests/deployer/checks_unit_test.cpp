// judge_checks: how check runs and commit statuses (GitHub's documented shapes) become a verdict.
#include <catch2/catch.hpp>

#include "deployer/checks.hpp"

using deployer::CheckVerdict;
using deployer::judge_checks;
using nlohmann::json;

namespace {
common::CheckWait all() {
  common::CheckWait wait;
  wait.all = true;
  return wait;
}
common::CheckWait named(std::vector<std::string> names) {
  common::CheckWait wait;
  wait.names = std::move(names);
  return wait;
}
json run(const std::string& name, const std::string& status, const json& conclusion = nullptr) {
  return {{"id", 1}, {"name", name}, {"status", status}, {"conclusion", conclusion}};
}
json status(const std::string& context, const std::string& state) {
  return {{"context", context}, {"state", state}};
}
}  // namespace

TEST_CASE("all: no check run and no status at all is nothing to wait for", "[checks]") {
  const auto verdict = judge_checks(all(), json::array(), json::array(), {});
  CHECK(verdict.state == CheckVerdict::State::passed);
}

TEST_CASE("all: every check run and status must pass; neutral and skipped pass", "[checks]") {
  const json runs = {run("build", "completed", "success"), run("docs", "completed", "skipped"),
                     run("lint", "completed", "neutral"), run("test", "in_progress")};
  auto verdict = judge_checks(all(), runs, json::array({status("ci/e2e", "pending")}), {});
  CHECK(verdict.state == CheckVerdict::State::pending);
  CHECK(verdict.pending == std::vector<std::string>{"ci/e2e", "test"});
  verdict = judge_checks(all(), json::array({run("test", "completed", "success")}),
                         json::array({status("ci/e2e", "success")}), {});
  CHECK(verdict.state == CheckVerdict::State::passed);
}

TEST_CASE("a failure, cancellation, timeout or status error fails, naming the check", "[checks]") {
  for (const char* conclusion : {"failure", "cancelled", "timed_out", "action_required"}) {
    const auto verdict = judge_checks(
        all(),
        json::array({run("ok", "completed", "success"), run("test", "completed", conclusion)}),
        json::array(), {});
    CHECK(verdict.state == CheckVerdict::State::failed);
    CHECK(verdict.failed == "test");
    CHECK(verdict.conclusion == conclusion);
  }
  const auto verdict = judge_checks(all(), json::array(), json::array({status("ci", "error")}), {});
  CHECK(verdict.state == CheckVerdict::State::failed);
  CHECK(verdict.failed == "ci");
}

TEST_CASE("named checks: one not reported yet is pending, others do not count", "[checks]") {
  const json runs = {run("test", "completed", "success"), run("flaky", "completed", "failure")};
  auto verdict = judge_checks(named({"test", "ci/lint"}), runs, json::array(), {});
  CHECK(verdict.state == CheckVerdict::State::pending);
  CHECK(verdict.pending == std::vector<std::string>{"ci/lint"});
  verdict = judge_checks(named({"test", "ci/lint"}), runs,
                         json::array({status("ci/lint", "success")}), {});
  CHECK(verdict.state == CheckVerdict::State::passed);
}

TEST_CASE("the deployer's own statuses are ignored, and malformed elements skipped", "[checks]") {
  const json statuses = {status("deploy/app", "pending"), status("deploy/app", "failure"),
                         json("junk"), json{{"context", 3}}};
  const json runs = {json::object(), run("", "completed", "failure"), json{{"name", "x"}}};
  const auto verdict = judge_checks(all(), runs, statuses, {"deploy/app"});
  CHECK(verdict.state == CheckVerdict::State::passed);
}

TEST_CASE("of several reports under one name, a failure wins, then one still running", "[checks]") {
  auto verdict =
      judge_checks(all(), json::array({run("test", "completed", "success"), run("test", "queued")}),
                   json::array(), {});
  CHECK(verdict.state == CheckVerdict::State::pending);
  verdict = judge_checks(all(), json::array({run("test", "queued")}),
                         json::array({status("test", "failure")}), {});
  CHECK(verdict.state == CheckVerdict::State::failed);
}
