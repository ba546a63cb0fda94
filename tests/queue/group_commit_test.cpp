// GroupCommit against real folders through the fault-injecting file-system seam: queue folders
// are fsynced before any entry leaves the inbox, and a failure at any call leaves every entry in
// the inbox or in its queue, never in neither.
#include <catch2/catch.hpp>

#include "queue-layout/fs.hpp"
#include "queue-layout/group_commit.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using queue_layout::FsOp;

namespace {

struct Folders {
  test::TempDir root{"router-group-commit"};
  fs::path inbox = root / "inbox";
  fs::path a = root / "queues-a";
  fs::path b = root / "queues-b";
  std::vector<std::string> names{"00000000000000000001-x.json", "00000000000000000002-y.json",
                                 "00000000000000000003-z.json"};

  Folders() {
    for (const auto& dir : {inbox, a, b}) fs::create_directory(dir);
    for (const auto& n : names) test::write_file(inbox / n, "{\"entry\": \"" + n + "\"}");
  }

  // Links the first two entries into a, the second into b too, the third nowhere (an ignored
  // event); marks all three for removal; commits.
  std::error_code route(queue_layout::GroupCommit& commit) {
    if (auto ec = commit.link(a, names[0])) return ec;
    commit.remove_later(names[0]);
    if (auto ec = commit.link(a, names[1])) return ec;
    if (auto ec = commit.link(b, names[1])) return ec;
    commit.remove_later(names[1]);
    commit.remove_later(names[2]);
    return commit.commit();
  }
};

}  // namespace

TEST_CASE("group commit fsyncs the queues before the first removal from the inbox") {
  Folders f;
  queue_layout::FaultInjectingFs recording;
  queue_layout::GroupCommit commit(f.inbox, recording);
  REQUIRE_FALSE(f.route(commit));
  CHECK(commit.pending() == 0);

  CHECK(fs::is_empty(f.inbox));
  CHECK(fs::exists(f.a / f.names[0]));
  CHECK(fs::exists(f.a / f.names[1]));
  CHECK(fs::exists(f.b / f.names[1]));
  CHECK(fs::hard_link_count(f.a / f.names[1]) == 2);

  // Order: links, then one fsync per queue folder, then the unlinks, then one inbox fsync.
  std::vector<FsOp> ops;
  for (const auto& call : recording.record()) {
    if (call.op != FsOp::open && call.op != FsOp::close) ops.push_back(call.op);
  }
  CHECK(ops == std::vector<FsOp>{FsOp::link, FsOp::link, FsOp::link, FsOp::fsync, FsOp::fsync,
                                 FsOp::unlink, FsOp::unlink, FsOp::unlink, FsOp::fsync});
}

TEST_CASE("a re-run after a crash finds its own links and finishes") {
  Folders f;
  // A first run linked the entry and died before removing it from the inbox.
  fs::create_hard_link(f.inbox / f.names[0], f.a / f.names[0]);
  queue_layout::GroupCommit commit(f.inbox);
  CHECK_FALSE(commit.link(f.a, f.names[0]));
  // A different file of the same name in the queue is never taken for ours.
  test::write_file(f.b / f.names[0], "another entry");
  CHECK(commit.link(f.b, f.names[0]) == std::errc::file_exists);
  CHECK(test::read_file(f.b / f.names[0]) == "another entry");
  commit.remove_later(f.names[0]);
  CHECK_FALSE(commit.commit());
  CHECK_FALSE(fs::exists(f.inbox / f.names[0]));
  CHECK(fs::exists(f.a / f.names[0]));
}

TEST_CASE("a failure at any call of a group commit never loses an entry") {
  for (const int error : {ENOSPC, EIO}) {
    for (std::size_t nth = 1;; ++nth) {
      Folders f;
      queue_layout::FaultInjectingFs faulty;
      faulty.fail_call(nth, error);
      queue_layout::GroupCommit commit(f.inbox, faulty);
      const auto ec = f.route(commit);
      if (faulty.injected() == 0) {
        REQUIRE_FALSE(ec);  // past the last call: the whole protocol ran
        break;
      }
      INFO("call " << nth << " failed with " << error);
      CHECK(ec);
      // A link failed: the router still commits the entries handled before (the fault was
      // one-shot, so this commit runs on a healthy file system).
      if (commit.pending() > 0) CHECK_FALSE(commit.commit());
      CHECK(commit.pending() == 0);  // a failed batch is forgotten, its entries handled again
      // Routed entries are in the inbox or (only once their queue was fsynced) in the queue.
      CHECK((fs::exists(f.inbox / f.names[0]) || fs::exists(f.a / f.names[0])));
      CHECK((fs::exists(f.inbox / f.names[1]) ||
             (fs::exists(f.a / f.names[1]) && fs::exists(f.b / f.names[1]))));
      // An inbox entry is gone only if every queue fsync had succeeded before.
      if (!fs::exists(f.inbox / f.names[0])) {
        CHECK(faulty.calls(FsOp::fsync) >= 2);
      }
      // Running the batch again with a healthy file system completes it.
      queue_layout::GroupCommit again(f.inbox);
      for (const auto& n : f.names) {
        if (!fs::exists(f.inbox / n)) continue;
        if (n != f.names[2]) REQUIRE_FALSE(again.link(f.a, n));
        if (n == f.names[1]) REQUIRE_FALSE(again.link(f.b, n));
        again.remove_later(n);
      }
      REQUIRE_FALSE(again.commit());
      CHECK(fs::is_empty(f.inbox));
      CHECK(fs::exists(f.a / f.names[0]));
      CHECK(fs::exists(f.b / f.names[1]));
    }
  }
}

TEST_CASE("a folder an earlier run linked into is fsynced before the inbox copy goes") {
  Folders f;
  fs::create_hard_link(f.inbox / f.names[0], f.a / f.names[0]);  // left by a killed router
  queue_layout::FaultInjectingFs recording;
  queue_layout::GroupCommit commit(f.inbox, recording);
  REQUIRE_FALSE(commit.sync_later(f.a));
  commit.remove_later(f.names[0]);
  REQUIRE_FALSE(commit.commit());
  std::vector<FsOp> ops;
  for (const auto& call : recording.record()) {
    if (call.op == FsOp::fsync || call.op == FsOp::unlink) ops.push_back(call.op);
  }
  CHECK(ops == std::vector<FsOp>{FsOp::fsync, FsOp::unlink, FsOp::fsync});
  CHECK(fs::exists(f.a / f.names[0]));
  CHECK_FALSE(fs::exists(f.inbox / f.names[0]));
}
