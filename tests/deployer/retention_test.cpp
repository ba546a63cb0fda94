// The deployer's own pruning (retention in the configuration), run by the real binary: done/ is
// cut to the newest done_max_count entries and to done_max_age_days, each pruned entry's run log
// and changed-files list go with it, and failed/ with its logs is never touched.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "tests/deployer/harness.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::sh_step;
using namespace std::chrono_literals;

namespace {

std::set<std::string> names_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

}  // namespace

TEST_CASE("the deployer prunes done/ by count and age, with the run logs, and keeps failed/",
          "[deployer]") {
  Harness h;
  std::vector<std::string> shas;
  for (int i = 0; i < 4; ++i) {
    shas.push_back(h.origin.commit({{"file.txt", std::to_string(i) + "\n"}}));
  }
  h.clone();
  const std::string bad = shas[2];
  h.deployment_extra = {{"coalesce", false}};
  h.steps = json::array({sh_step("work", "[ \"$DEPLOY_SHA\" != " + bad + " ]")});
  h.config_extra = {{"retention", {{"done_max_count", 2}, {"done_max_age_days", 1}}}};

  // An entry deployed in 2001 (its name's timestamp), with its run log and changed-files list.
  const std::string old = "01000000000000000000-old.json";
  std::filesystem::create_directories(h.dir("done"));
  std::filesystem::create_directories(h.dir("logs"));
  test::write_file(h.dir("done") / old, "{}");
  test::write_file(h.dir("logs") / (old + ".log"), "=== run started\n");
  test::write_file(h.dir("logs") / (old + ".changed"), "file.txt\n");

  std::vector<std::string> entries;
  for (const auto& sha : shas) entries.push_back(h.operator_replay(sha));
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entries[3]));
  REQUIRE(h.in("failed", entries[2]));

  // Count: of entries 0, 1 and 3 (and the old one), the newest two stay; age: the old one goes.
  // Pruning follows the move to done/: wait for it (the checks below hold whatever the timing).
  const std::set<std::string> kept_in_done{entries[1], entries[3]};
  INFO(h.deployer_log());
  // One prune removes the pruned entries' files one after the other: wait for all of them.
  const auto pruned = [&](const std::set<std::string>& logs) {
    for (const auto& gone : {old, entries[0]}) {
      if (logs.count(gone + ".log") || logs.count(gone + ".changed")) return false;
    }
    return true;
  };
  CHECK(test::eventually(
      [&] { return names_in(h.dir("done")) == kept_in_done && pruned(names_in(h.dir("logs"))); },
      10s));
  CHECK(names_in(h.dir("done")) == kept_in_done);
  const auto logs = names_in(h.dir("logs"));
  CHECK(pruned(logs));
  for (const auto& kept : {entries[1], entries[2], entries[3]}) CHECK(logs.count(kept + ".log"));
  // failed/ is never pruned: the entry and its error report stay for a person.
  CHECK(h.in("failed", entries[2]));
  CHECK(std::filesystem::exists(h.dir("failed") / (entries[2] + ".error.json")));
}
