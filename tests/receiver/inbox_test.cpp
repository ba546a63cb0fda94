// Unit tests of receiver/inbox: naming and durable publishing, with faults injected at each call.
#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>

#include "queue-layout/fs.hpp"
#include "queue-layout/scan.hpp"
#include "receiver/inbox.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("prepare creates the inbox and removes temporaries of a dead receiver") {
  test::TempDir dir;
  auto inbox = dir / "var" / "inbox";
  receiver::InboxWriter writer(inbox);
  REQUIRE_FALSE(writer.prepare());
  CHECK(std::filesystem::is_directory(inbox));
  CHECK((std::filesystem::status(inbox).permissions() & std::filesystem::perms::all) ==
        std::filesystem::perms::owner_all);

  // pid 2^22+1 is above Linux's pid_max: never alive.
  test::write_file(inbox / ".00000000000000000001-x.json.4194305.tmp", "{\"half");
  test::write_file(inbox / "00000000000000000001-kept.json", "{}");
  REQUIRE_FALSE(writer.prepare());
  CHECK(listing(inbox) == std::vector<std::string>{"00000000000000000001-kept.json"});
}

TEST_CASE("publish writes the exact bytes under an increasing name carrying the delivery id") {
  test::TempDir dir;
  std::int64_t now = 1795400000000000000;
  // A clock that steps backwards: names must still increase.
  receiver::InboxWriter writer(dir / "inbox", queue_layout::real_fs(), [&] { return now -= 5; });
  REQUIRE_FALSE(writer.prepare());
  auto a = writer.publish("delivery-a", "{\"a\":1}\n");
  auto b = writer.publish("delivery-b", "{\"b\":2}\n");
  REQUIRE_FALSE(a.error);
  REQUIRE_FALSE(b.error);
  CHECK(a.name == "01795399999999999995-delivery-a.json");
  CHECK(b.name == "01795399999999999996-delivery-b.json");
  CHECK(test::read_file(dir / "inbox" / a.name) == "{\"a\":1}\n");
  CHECK(test::read_file(dir / "inbox" / b.name) == "{\"b\":2}\n");
  CHECK(listing(dir / "inbox") == std::vector<std::string>{a.name, b.name});
}

TEST_CASE("a failure at any file-system call leaves nothing behind and is reported") {
  test::TempDir dir;
  queue_layout::FaultInjectingFs fs;
  receiver::InboxWriter writer(dir / "inbox", fs);
  REQUIRE_FALSE(writer.prepare());

  // Count the calls of one successful publish, then fail each of them in turn.
  fs.reset();
  auto probe = writer.publish("probe", "{}\n");
  REQUIRE_FALSE(probe.error);
  const auto calls = fs.calls();
  REQUIRE(calls >= 5);  // open, write, fsync, close, rename, folder fsync...
  std::filesystem::remove(dir / "inbox" / probe.name);

  for (int error : {ENOSPC, EIO}) {
    for (std::size_t nth = 1; nth <= calls; ++nth) {
      INFO("errno " << error << " at call " << nth << " of " << calls);
      fs.reset();
      fs.fail_call(nth, error);
      auto outcome = writer.publish("delivery", "{\"payload\":true}\n");
      fs.clear_fault();
      auto record = fs.record();
      auto failed = std::find_if(record.begin(), record.end(),
                                 [](const queue_layout::FsCall& c) { return c.injected != 0; });
      REQUIRE(failed != record.end());
      INFO("failed call: " << queue_layout::to_string(failed->op) << " " << failed->target);
      CHECK(outcome.error.value() == error);
      CHECK(outcome.name.empty());
      // No temporary is left. The only case where the entry may remain visible is the final
      // folder fsync: complete, but not known to be durable, so it was not acknowledged.
      auto names = listing(dir / "inbox");
      if (!names.empty()) {
        CHECK(failed->op == queue_layout::FsOp::fsync);
        CHECK(names.size() == 1);
        CHECK(test::read_file(dir / "inbox" / names[0]) == "{\"payload\":true}\n");
        std::filesystem::remove(dir / "inbox" / names[0]);
      }
    }
  }
}

TEST_CASE("a name already taken is never replaced: the next name is used") {
  test::TempDir dir;
  std::int64_t now = 1000;
  receiver::InboxWriter writer(dir / "inbox", queue_layout::real_fs(), [&] { return now; });
  REQUIRE_FALSE(writer.prepare());
  // Someone else's file sits exactly where the clock's first name would go.
  test::write_file(dir / "inbox" / "00000000000000001000-d.json", "theirs");
  auto outcome = writer.publish("d", "mine");
  REQUIRE_FALSE(outcome.error);
  CHECK(outcome.name == "00000000000000001001-d.json");
  CHECK(test::read_file(dir / "inbox" / "00000000000000001000-d.json") == "theirs");
  CHECK(test::read_file(dir / "inbox" / outcome.name) == "mine");
}

TEST_CASE("a missing inbox is an error, not a crash, and nothing is created") {
  test::TempDir dir;
  receiver::InboxWriter writer(dir / "inbox");
  REQUIRE_FALSE(writer.prepare());
  std::filesystem::remove(dir / "inbox");
  auto outcome = writer.publish("d", "{}");
  CHECK(outcome.error == std::errc::no_such_file_or_directory);
  CHECK_FALSE(std::filesystem::exists(dir / "inbox"));
}
