// hostile_files_test.cpp: files dropped by hand into inbox/ and queues/<d>/ of a running pipeline
// (pipeline.hpp): symbolic links (to a secret file and to a valid entry), a FIFO, a folder with
// an entry name, a huge sparse file, invalid JSON, JSON nested 100,000 levels, NUL bytes, a
// delivery id with "../", refs and repository names with shell metacharacters. Each must be
// quarantined with a reason (rejected/<name>.reason from the inbox, failed/<d>/ from a queue),
// never followed, opened if a FIFO, or executed; and the pipeline must still route and deploy a
// valid push afterwards.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "common/ledger/migrations.hpp"
#include "queue-layout/layout.hpp"
#include "tests/reliability/pipeline.hpp"
#include "tests/support/pg.hpp"

using namespace std::chrono_literals;

namespace {

// name suffix -> how to create it in `dir` (the name is "<20 digits>-<suffix>.json").
void drop_all(const std::filesystem::path& dir, const std::filesystem::path& outside,
              const std::string& valid_entry, std::vector<std::string>& names, int serial) {
  auto name = [&](const std::string& suffix) {
    std::string digits = std::to_string(1000 + serial * 100 + static_cast<int>(names.size()));
    std::string n = std::string(20 - digits.size(), '0') + digits + "-" + suffix + ".json";
    names.push_back(n);
    return dir / n;
  };
  const std::string sha(40, 'd');
  auto push_entry = [&](const std::string& ref, const std::string& repo) {
    return R"({"event":"push","payload":{"ref":")" + ref + R"(","after":")" + sha +
           R"(","repository":{"full_name":")" + repo + R"("}}})" + "\n";
  };
  test::write_file(outside / "secret.json", valid_entry);
  std::filesystem::create_symlink(outside / "secret.json", name("symlink-to-entry"));
  std::filesystem::create_symlink("/etc/shadow", name("symlink-to-shadow"));
  std::filesystem::create_symlink(outside / "missing", name("dangling-symlink"));
  REQUIRE(::mkfifo(name("fifo").c_str(), 0600) == 0);
  std::filesystem::create_directory(name("directory"));
  {
    auto huge = name("huge");
    int fd = ::open(huge.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 64L << 20) == 0);  // sparse: 64 MiB of NULs
    ::close(fd);
  }
  test::write_file(name("not-json"), "hello\n");
  test::write_file(name("truncated"), valid_entry.substr(0, valid_entry.size() / 2));
  test::write_file(name("deep"), R"({"event":"push","payload":{"a":)" + std::string(100000, '[') +
                                     std::string(100000, ']') + "}}\n");
  test::write_file(name("nul-bytes"), std::string("{\"event\":\"push\0\",\"payload\":{}}\n", 31));
  test::write_file(name("dotdot-id"), R"({"id":"../../etc/passwd","event":"push","payload":{}})"
                                      "\n");
  test::write_file(name("ref-shell"), push_entry("refs/heads/main;touch PWNED", "example/app"));
  test::write_file(name("ref-backtick"), push_entry("refs/heads/`touch PWNED`", "example/app"));
  test::write_file(name("repo-shell"), push_entry("refs/heads/main", "example/app$(touch PWNED)"));
  test::write_file(
      name("sha-option"),
      R"({"event":"push","payload":{"ref":"refs/heads/main","after":"--upload-pack=touch PWNED","repository":{"full_name":"example/app"}}})"
      "\n");
}

bool quarantined(const std::filesystem::path& dir, const std::string& name) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(dir / name, ec)) &&
         (std::filesystem::exists(dir / (name + ".reason"), ec) ||
          std::filesystem::exists(dir / (name + ".error.json"), ec));
}

}  // namespace

TEST_CASE("hostile files dropped into inbox and a queue are quarantined with a reason") {
  test::Database db;
  ledger::migrate(db.url());
  reliability::Pipeline pipeline(db.url(), 2);
  const queue_layout::Layout layout(pipeline.state());
  test::TempDir outside("reliability-outside");
  const std::string valid = R"({"event":"push","payload":{"ref":"refs/heads/main","after":")" +
                            pipeline.commits("alpha")[0] +
                            R"(","repository":{"full_name":"example/app"}}})" + "\n";

  // The router and the deployers create their folders as they start.
  REQUIRE(test::eventually(
      [&] {
        return std::filesystem::is_directory(layout.queue("alpha")) &&
               std::filesystem::is_directory(layout.failed("alpha")) &&
               std::filesystem::is_directory(layout.rejected());
      },
      30s));
  std::vector<std::string> inbox_names, queue_names;
  drop_all(layout.inbox(), outside.path(), valid, inbox_names, 1);
  drop_all(layout.queue("alpha"), outside.path(), valid, queue_names, 2);

  std::map<std::string, bool> done;
  auto all_quarantined = [&] {
    bool all = true;
    for (const auto& n : inbox_names)
      all = (done["inbox " + n] = quarantined(layout.rejected(), n)) && all;
    for (const auto& n : queue_names) {
      all = (done["queue " + n] = quarantined(layout.failed("alpha"), n)) && all;
    }
    return all;
  };
  const bool ok = test::eventually(all_quarantined, 60s);
  std::size_t count = 0;
  for (const auto& [what, yes] : done) {
    if (yes)
      ++count;
    else
      UNSCOPED_INFO("not quarantined: " << what);
  }
  std::cout << "hostile files: " << count << "/" << done.size()
            << " quarantined with a reason (inbox -> rejected/, queue -> failed/alpha/)"
            << std::endl;
  INFO(pipeline.logs());
  CHECK(ok);

  // Never followed, never executed.
  CHECK(test::read_file(outside / "secret.json") == valid);
  for (const auto& d : reliability::kDeployments) {
    CHECK_FALSE(std::filesystem::exists(pipeline.root() / d / "PWNED"));
  }
  CHECK_FALSE(std::filesystem::exists(pipeline.root() / "PWNED"));
  CHECK(pipeline.files_containing("root:") == std::vector<std::string>{});

  // Still working: a valid push is routed and deployed.
  REQUIRE(pipeline.all_running());
  auto a =
      pipeline.push("alpha", pipeline.commits("alpha")[1], std::chrono::steady_clock::now() + 10s);
  REQUIRE(a);
  CHECK(test::eventually(
      [&] { return test::checked_out(pipeline.root() / "alpha") == pipeline.commits("alpha")[1]; },
      60s));
  CHECK(pipeline.all_running());
}
