// Startup recovery (temporaries of dead publishers removed, live ones kept) and retention of
// done/ (oldest first, by age or count, sidecars with their entry, nothing else touched).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/recover.hpp"
#include "queue-layout/retention.hpp"
#include "tests/queue/helpers.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  REQUIRE(pid > 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return pid;
}

std::string stamp_name(std::chrono::system_clock::time_point t, const std::string& tag) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(ns));
  return std::string(digits) + "-" + tag + ".json";
}

}  // namespace

TEST_CASE("temporary names carry the publisher's pid") {
  CHECK(queue_layout::temporary_pid(".00000000000000000001-a.json.1234.tmp") == 1234);
  CHECK(queue_layout::temporary_pid(".a.b.c.77.tmp") == 77);
  CHECK_FALSE(queue_layout::temporary_pid("a.json.1234.tmp"));
  CHECK_FALSE(queue_layout::temporary_pid(".a.json.tmp"));
  CHECK_FALSE(queue_layout::temporary_pid(".a.json.-5.tmp"));
  CHECK_FALSE(queue_layout::temporary_pid(".a.json.12x.tmp"));
  CHECK_FALSE(queue_layout::temporary_pid(".1234.tmp"));
  CHECK(queue_layout::temporary_pid(queue_layout::temporary_name("x.json")) == ::getpid());
}

TEST_CASE("recovery removes temporaries of dead and former selves, keeps live ones") {
  test::TempDir tmp("queue-recover");
  const std::string dead = ".00000000000000000001-a.json." + std::to_string(dead_pid()) + ".tmp";
  const std::string ours = queue_layout::temporary_name("00000000000000000002-b.json");
  const std::string live = ".00000000000000000003-c.json." + std::to_string(::getppid()) + ".tmp";
  for (const auto& name : {dead, ours, live, std::string(".hidden"), std::string("x.tmp"),
                           std::string("00000000000000000004-d.json")}) {
    test::write_file(tmp / name, "x");
  }
  CHECK(queue_layout::remove_stale_temporaries(tmp.path()) == 2);
  CHECK_FALSE(std::filesystem::exists(tmp / dead));
  CHECK_FALSE(std::filesystem::exists(tmp / ours));
  CHECK(std::filesystem::exists(tmp / live));
  CHECK(std::filesystem::exists(tmp / ".hidden"));
  CHECK(std::filesystem::exists(tmp / "x.tmp"));
  CHECK(std::filesystem::exists(tmp / "00000000000000000004-d.json"));
  CHECK(queue_layout::remove_stale_temporaries(tmp / "missing") == 0);
}

TEST_CASE("retention prunes done/ by age, oldest first, with sidecars, and nothing else") {
  test::TempDir tmp("queue-retention");
  const auto now = std::chrono::system_clock::now();
  const std::string old1 = stamp_name(now - 3h, "old1");
  const std::string old2 = stamp_name(now - 2h, "old2");
  const std::string recent = stamp_name(now - 10min, "recent");
  for (const auto& name : {old1, old2, recent})
    REQUIRE_FALSE(queue_layout::publish(tmp.path(), name, "{}"));
  test::write_file(tmp / queue_layout::reason_name(old1), "r");
  test::write_file(tmp / queue_layout::error_name(old2), "{}");
  test::write_file(tmp / queue_layout::error_name(recent), "{}");
  test::write_file(tmp / "stray.json", "{}");
  test::write_file(tmp / ".hidden", "x");
  test::write_file(tmp / (stamp_name(now - 5h, "orphan") + ".reason"), "r");

  const auto result = queue_layout::prune_done(tmp.path(), std::chrono::nanoseconds(1h),
                                               std::nullopt, queue_layout::real_fs(), now);
  CHECK_FALSE(result.error);
  CHECK(result.removed == 2);
  CHECK(queue_test::entries(tmp.path()) == std::vector<std::string>{recent});
  CHECK_FALSE(std::filesystem::exists(tmp / queue_layout::reason_name(old1)));
  CHECK_FALSE(std::filesystem::exists(tmp / queue_layout::error_name(old2)));
  CHECK(std::filesystem::exists(tmp / queue_layout::error_name(recent)));
  CHECK(std::filesystem::exists(tmp / "stray.json"));
  CHECK(std::filesystem::exists(tmp / ".hidden"));
  CHECK(std::filesystem::exists(tmp / (stamp_name(now - 5h, "orphan") + ".reason")));
}

TEST_CASE("retention keeps the newest max_count entries") {
  test::TempDir tmp("queue-retention");
  queue_layout::NameClock clock;
  std::vector<std::string> names;
  for (int k = 0; k < 5; ++k) {
    names.push_back(clock.next(std::string("e").append(std::to_string(k))));
    REQUIRE_FALSE(queue_layout::publish(tmp.path(), names.back(), "{}"));
  }
  auto result = queue_layout::prune_done(tmp.path(), std::nullopt, 2);
  CHECK_FALSE(result.error);
  CHECK(result.removed == 3);
  CHECK(queue_test::entries(tmp.path()) == std::vector<std::string>{names[3], names[4]});
  // Within both limits: nothing to do.
  result = queue_layout::prune_done(tmp.path(), std::chrono::nanoseconds(24h), 2);
  CHECK(result.removed == 0);
  CHECK(queue_test::entries(tmp.path()).size() == 2);
  // No limits at all: nothing is ever removed.
  result = queue_layout::prune_done(tmp.path(), std::nullopt, std::nullopt);
  CHECK(result.removed == 0);
  CHECK(queue_layout::prune_done(tmp / "missing", std::nullopt, 0).error ==
        std::errc::no_such_file_or_directory);
}
