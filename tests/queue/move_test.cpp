// Moving entries: link before unlink, re-runs are harmless, an existing different file is never
// replaced, and a fault at any call leaves the entry in at least one folder.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"
#include "queue-layout/move.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/scan.hpp"
#include "tests/queue/helpers.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/temp_dir.hpp"

using queue_layout::FaultInjectingFs;
using queue_layout::FsOp;
using queue_test::contents;
using queue_test::entries;

namespace {

const std::string kName = "00000000000000000007-move.json";

struct Folders {
  test::TempDir tmp{"queue-move"};
  std::filesystem::path from = tmp / "from";
  std::filesystem::path to = tmp / "to";
  Folders() {
    std::filesystem::create_directory(from);
    std::filesystem::create_directory(to);
  }
};

ino_t inode(const std::filesystem::path& p) {
  struct ::stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("move_entry links, fsyncs the target, unlinks, fsyncs the source, in that order") {
  Folders f;
  REQUIRE_FALSE(queue_layout::publish(f.from, kName, "payload"));
  const ino_t before = inode(f.from / kName);
  FaultInjectingFs fs;
  REQUIRE_FALSE(queue_layout::move_entry(f.from, f.to, kName, fs));
  CHECK(entries(f.from).empty());
  CHECK(entries(f.to) == std::vector<std::string>{kName});
  CHECK(contents(f.to, kName) == "payload");
  CHECK(inode(f.to / kName) == before);  // the same file, not a copy

  std::vector<std::string> seen;
  for (const auto& c : fs.record()) {
    if (c.op != FsOp::open)
      seen.push_back(std::string(queue_layout::to_string(c.op)) + " " + c.target);
  }
  CHECK(seen == std::vector<std::string>{"link " + kName + " -> " + kName, "fsync " + f.to.string(),
                                         "unlink " + kName, "fsync " + f.from.string()});
}

TEST_CASE("re-running a move after each possible crash point finishes it") {
  Folders f;
  REQUIRE_FALSE(queue_layout::publish(f.from, kName, "x"));
  // Crash after the link: the entry is in both folders.
  REQUIRE_FALSE(queue_layout::link_entry(f.from, f.to, kName));
  CHECK(queue_layout::exists(f.from, kName));
  CHECK(queue_layout::exists(f.to, kName));
  REQUIRE_FALSE(queue_layout::link_entry(f.from, f.to, kName));  // same inode: harmless
  REQUIRE_FALSE(queue_layout::move_entry(f.from, f.to, kName));
  CHECK_FALSE(queue_layout::exists(f.from, kName));
  // Crash after the unlink: running the move again is still fine.
  REQUIRE_FALSE(queue_layout::move_entry(f.from, f.to, kName));
  CHECK(contents(f.to, kName) == "x");
  // But a move of something that is nowhere is an error.
  CHECK(queue_layout::move_entry(f.from, f.to, "00000000000000000008-none.json") ==
        std::errc::no_such_file_or_directory);
}

TEST_CASE("a different file under the same name is never replaced") {
  Folders f;
  REQUIRE_FALSE(queue_layout::publish(f.from, kName, "mine"));
  REQUIRE_FALSE(queue_layout::publish(f.to, kName, "theirs"));
  CHECK(queue_layout::move_entry(f.from, f.to, kName) == std::errc::file_exists);
  CHECK(contents(f.from, kName) == "mine");
  CHECK(contents(f.to, kName) == "theirs");
  CHECK(queue_layout::link_entry(f.from, f.to, kName) == std::errc::file_exists);
  CHECK(queue_layout::move_entry(f.from, f.to, "../x") == queue_layout::errc::invalid_name);
  CHECK(queue_layout::move_entry(f.from, f.to, "a/b") == queue_layout::errc::invalid_name);
}

TEST_CASE("a fault at any call of move_entry leaves the entry in at least one folder") {
  for (const int error : {ENOSPC, EIO}) {
    std::size_t n = 1;
    for (;; ++n) {
      CAPTURE(error, n);
      Folders f;
      REQUIRE_FALSE(queue_layout::publish(f.from, kName, "complete"));
      FaultInjectingFs fs;
      fs.fail_call(n, error);
      const auto ec = queue_layout::move_entry(f.from, f.to, kName, fs);
      if (fs.injected() == 0) {
        REQUIRE_FALSE(ec);
        break;
      }
      CHECK(ec == queue_layout::errno_code(error));
      const bool in_from = queue_layout::exists(f.from, kName);
      const bool in_to = queue_layout::exists(f.to, kName);
      CHECK((in_from || in_to));
      if (in_from) CHECK(contents(f.from, kName) == "complete");
      if (in_to) CHECK(contents(f.to, kName) == "complete");
      // Re-running without the fault finishes the move.
      REQUIRE_FALSE(queue_layout::move_entry(f.from, f.to, kName));
      CHECK_FALSE(queue_layout::exists(f.from, kName));
      CHECK(contents(f.to, kName) == "complete");
    }
    CHECK(n == 7);  // open from, open to, link, fsync to, unlink, fsync from
  }
}

TEST_CASE("remove_entry removes durably and tolerates a missing name") {
  Folders f;
  REQUIRE_FALSE(queue_layout::publish(f.from, kName, "x"));
  FaultInjectingFs fs;
  REQUIRE_FALSE(queue_layout::remove_entry(f.from, kName, fs));
  CHECK_FALSE(queue_layout::exists(f.from, kName));
  CHECK(fs.record().back().op == FsOp::fsync);
  CHECK_FALSE(queue_layout::remove_entry(f.from, kName));
  CHECK(queue_layout::fsync_dir(f.tmp / "missing") == std::errc::no_such_file_or_directory);
}
