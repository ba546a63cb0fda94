// The attacks of issue 15 on the deploy path, against the running pipeline (receiver, router and
// deployers as real processes; real PostgreSQL; a real git origin; tests/reliability/pipeline):
//   1. an old signed push resent (fresh delivery id) while a newer push waits must not supersede
//      it: superseding follows commit ancestry, never arrival order;
//   5. a queue file with bytes the ledger cannot store (not UTF-8, NUL) fails that entry, never
//      the deployer;
//   6. step output with terminal escapes is shown escaped by `deployctl logs` on a terminal.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>

#include <pqxx/pqxx>

#include "common/ledger/migrations.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/scan.hpp"
#include "tests/reliability/pipeline.hpp"
#include "tests/support/child.hpp"
#include "tests/support/git.hpp"
#include "tests/support/pg.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> entries_in(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  if (queue_layout::list_entries(dir, listing)) return {};
  return listing.entries;
}

// queue_items.state of every entry of `deployment`, by entry name.
std::map<std::string, std::string> states(const std::string& url, const std::string& deployment) {
  pqxx::connection connection(url);
  pqxx::work tx(connection);
  std::map<std::string, std::string> out;
  for (const auto& row : tx.exec_params(
           "SELECT entry_name, state FROM queue_items WHERE deployment = $1", deployment)) {
    out[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  return out;
}

std::string entry_of(const std::vector<std::string>& names, const std::string& delivery) {
  for (const auto& name : names) {
    if (name.find(delivery) != std::string::npos) return name;
  }
  return {};
}

}  // namespace

TEST_CASE("attack 1: a resent old push never supersedes a newer push that waits") {
  test::Database db;
  ledger::migrate(db.url());
  reliability::Pipeline pipeline(db.url(), 3);
  const queue_layout::Layout layout(pipeline.state());
  const auto& commits = pipeline.commits("alpha");  // each one a child of the one before
  const auto deadline = [] { return Clock::now() + 20s; };

  SECTION("both waiting in the queue (the batch)") {
    pipeline.kill("deployer-alpha");
    const auto newer = pipeline.push("alpha", commits[2], deadline());
    REQUIRE(newer);
    // The attacker's replay of an older push, with a fresh delivery id, arrives after it.
    const auto replay = pipeline.push("alpha", commits[1], deadline());
    REQUIRE(replay);
    REQUIRE(test::eventually([&] { return entries_in(layout.queue("alpha")).size() == 2; }, 30s));
    const auto queued = entries_in(layout.queue("alpha"));
    pipeline.start("deployer-alpha");
    REQUIRE(pipeline.drain(60s));
    const auto decided = states(db.url(), "alpha");
    INFO(pipeline.logs());
    CHECK(test::checked_out(pipeline.root() / "alpha") == commits[2]);
    CHECK(decided.at(entry_of(queued, newer->delivery)) == "succeeded");
    CHECK(decided.at(entry_of(queued, replay->delivery)) == "superseded");
    std::cout << "figure: attack 1 (batch): newer push "
              << decided.at(entry_of(queued, newer->delivery)) << ", resent older push "
              << decided.at(entry_of(queued, replay->delivery)) << "\n";
  }

  SECTION("the newer one already taken (one by one)") {
    pipeline.kill("deployer-alpha");
    const auto newer = pipeline.push("alpha", commits[2], deadline());
    REQUIRE(newer);
    REQUIRE(test::eventually([&] { return entries_in(layout.queue("alpha")).size() == 1; }, 30s));
    // As a deployer that took it and was killed would leave it: in active/, still queued.
    const auto taken = entries_in(layout.queue("alpha")).front();
    std::filesystem::create_directories(layout.active("alpha"));
    std::filesystem::rename(layout.queue("alpha") / taken, layout.active("alpha") / taken);
    const auto replay = pipeline.push("alpha", commits[1], deadline());
    REQUIRE(replay);
    REQUIRE(test::eventually([&] { return entries_in(layout.queue("alpha")).size() == 1; }, 30s));
    const auto replayed = entries_in(layout.queue("alpha")).front();
    pipeline.start("deployer-alpha");
    REQUIRE(pipeline.drain(60s));
    const auto decided = states(db.url(), "alpha");
    INFO(pipeline.logs());
    CHECK(test::checked_out(pipeline.root() / "alpha") == commits[2]);
    CHECK(decided.at(taken) == "succeeded");
    CHECK(decided.at(replayed) != "succeeded");  // superseded or stale, never deployed
    std::cout << "figure: attack 1 (one by one): newer push " << decided.at(taken)
              << ", resent older push " << decided.at(replayed) << "\n";
  }

  SECTION("a newer push still supersedes the older ones it contains") {
    pipeline.kill("deployer-alpha");
    REQUIRE(pipeline.push("alpha", commits[0], deadline()));
    REQUIRE(pipeline.push("alpha", commits[1], deadline()));
    REQUIRE(pipeline.push("alpha", commits[2], deadline()));
    REQUIRE(test::eventually([&] { return entries_in(layout.queue("alpha")).size() == 3; }, 30s));
    const auto queued = entries_in(layout.queue("alpha"));
    pipeline.start("deployer-alpha");
    REQUIRE(pipeline.drain(60s));
    const auto decided = states(db.url(), "alpha");
    CHECK(decided.at(queued[0]) == "superseded");
    CHECK(decided.at(queued[1]) == "superseded");
    CHECK(decided.at(queued[2]) == "succeeded");
    CHECK(test::checked_out(pipeline.root() / "alpha") == commits[2]);
  }
}

TEST_CASE("attack 5: a queue file the ledger cannot store fails that entry, not the deployer") {
  test::Database db;
  ledger::migrate(db.url());
  reliability::Pipeline pipeline(db.url(), 2);
  const queue_layout::Layout layout(pipeline.state());
  REQUIRE(
      test::eventually([&] { return std::filesystem::is_directory(layout.queue("alpha")); }, 30s));
  const std::string sha = pipeline.commits("alpha")[0];
  auto name = [](int n) {
    const std::string digits = std::to_string(1796000000000000000LL + n);
    return std::string(20 - digits.size(), '0') + digits + "-poison" + std::to_string(n) + ".json";
  };
  // One byte that is not UTF-8 inside a string (the parser's message quotes it); a NUL written
  // as \u0000 in the repository name (valid JSON, refused by PostgreSQL in text); a C1 control.
  const std::map<std::string, std::string> poison = {
      {name(1), R"({"event":"push","payload":{"ref":"refs/heads/main)"
                "\xff"
                R"(","after":")" +
                    sha + R"(","repository":{"full_name":"example/app"}}})"},
      {name(2), R"({"event":"push","payload":{"ref":"refs/heads/main","after":")" + sha +
                    R"(","repository":{"full_name":"example/a\u0000pp"}}})"},
      {name(3), R"({"event":"pu)"
                "\xc2\x9b"
                R"(sh","payload":{}})"},
  };
  for (const auto& [file, text] : poison) test::write_file(layout.queue("alpha") / file, text);

  auto failed = [&] {
    for (const auto& [file, text] : poison) {
      if (!std::filesystem::exists(layout.failed("alpha") / (file + ".error.json"))) return false;
    }
    return true;
  };
  INFO(pipeline.logs());
  CHECK(test::eventually(failed, 60s));
  CHECK(pipeline.all_running());
  const auto decided = states(db.url(), "alpha");
  for (const auto& [file, text] : poison) {
    CHECK(decided.count(file) == 1);
    if (decided.count(file) == 1) CHECK(decided.at(file) == "failed");
  }
  // The reasons are stored, made printable.
  pqxx::connection connection(db.url());
  pqxx::work tx(connection);
  const auto reason = tx.exec_params1(
      "SELECT reason FROM queue_items WHERE deployment = 'alpha' AND entry_name = $1", name(1))[0];
  CHECK_THAT(reason.as<std::string>(), Catch::Contains("\\xff"));

  // And the deployer goes on deploying.
  REQUIRE(pipeline.push("alpha", pipeline.commits("alpha")[1], Clock::now() + 10s));
  CHECK(test::eventually(
      [&] { return test::checked_out(pipeline.root() / "alpha") == pipeline.commits("alpha")[1]; },
      60s));
  CHECK(pipeline.all_running());
  std::cout << "figure: attack 5: " << poison.size()
            << " poisoned queue files failed with their reasons; deployer restarts: 0\n";
}

TEST_CASE("attack 6: deployctl logs shows escape sequences escaped on a terminal") {
  test::Database db;
  ledger::migrate(db.url());
  test::TempDir root("attacks-logs");
  test::GitOrigin origin(root / "repo");
  const std::string sha = origin.commit({{"a.txt", "1\n"}});
  origin.clone_to(root / "site");
  const nlohmann::json config = {
      {"instance", "attacks"},
      {"state_dir", "var"},
      {"allow_root", true},
      {"deployments",
       {{"site",
         {{"repository", "example/app"},
          {"branch", "main"},
          {"path", (root / "site").string()},
          {"steps",
           {{{"name", "colour"},
             {"run", {"printf", "\\033[31mred\\033[0m \\302\\233 c1 \\033]0;title\\007\\n"}}}}}}}}},
  };
  test::write_file(root / "deployer.json", config.dump(2));
  const std::map<std::string, std::string> env = {{"DATABASE_URL", db.url()},
                                                  {"WEBHOOK_SECRET", "x"}};
  const auto queue = root / "var" / "queues" / "site";
  std::filesystem::create_directories(queue);
  const std::string entry = "17960000000000000001-colour.json";
  test::write_file(queue / entry,
                   R"({"event":"push","payload":{"ref":"refs/heads/main","after":")" + sha +
                       R"(","repository":{"full_name":"example/app"}}})");
  test::Child deployer({test::bin("deployer").string(), "--config",
                        (root / "deployer.json").string(), "--deployment", "site"},
                       env, root / "deployer.log");
  REQUIRE(test::eventually(
      [&] { return std::filesystem::exists(root / "var" / "done" / "site" / entry); }, 60s));
  deployer.signal(SIGTERM);
  deployer.wait(10s);

  const auto deployctl = test::bin("deployctl").string() + " --config " +
                         (root / "deployer.json").string() + " logs site";
  // script(1) runs the command on a pseudo-terminal: stdout is a terminal, as for an operator.
  const auto shown = test::run({"/usr/bin/script", "-qec", deployctl, "/dev/null"}, env);
  INFO(shown.output);
  CHECK(shown.status == 0);
  CHECK_THAT(shown.output, Catch::Contains("\\x1b[31mred\\x1b[0m \\u009b c1 \\x1b]0;title\\x07"));
  CHECK(shown.output.find('\x1b') == std::string::npos);
  CHECK(shown.output.find("\xc2\x9b") == std::string::npos);

  const auto raw = test::run({"/usr/bin/script", "-qec", deployctl + " --raw", "/dev/null"}, env);
  CHECK_THAT(raw.output, Catch::Contains("\x1b[31mred\x1b[0m \xc2\x9b c1"));
  // Into a pipe the bytes are as stored (for grep, for files).
  const auto piped = test::run({test::bin("deployctl").string(), "--config",
                                (root / "deployer.json").string(), "logs", "site"},
                               env);
  CHECK_THAT(piped.output, Catch::Contains("\x1b[31mred"));
}
