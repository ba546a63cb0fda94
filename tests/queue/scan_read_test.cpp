// Listing (canonical entries in byte order, strays reported, the rest ignored) and safe reading
// (no symlinks followed, no blocking on FIFOs, bounded size, no folders).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "queue-layout/errors.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"
#include "tests/support/temp_dir.hpp"

using queue_layout::Listing;
using queue_layout::read_entry;

TEST_CASE("listing takes canonical names in byte order and reports strays") {
  test::TempDir tmp("queue-scan");
  const std::string a = "00000000000000000002-b.json";
  const std::string b = "00000000000000000010-a.json";
  const std::string c = "00000000000000000002-a.json";
  for (const auto& name :
       {b, a, c, "." + a + ".123.tmp", std::string("x.tmp"), std::string("x.json~"),
        std::string(".x.json.swp"), std::string("x.json.swp"), a + ".reason", a + ".error.json",
        std::string("notes.txt"), std::string("deploy.json"), std::string("my replay.json"),
        std::string(".hidden.json")}) {
    test::write_file(tmp / name, "{}");
  }
  std::filesystem::create_directory(tmp / "00000000000000000011-dir.json");  // type not checked
  Listing listing;
  REQUIRE_FALSE(queue_layout::list_entries(tmp.path(), listing));
  CHECK(listing.entries == std::vector<std::string>{c, a, b, "00000000000000000011-dir.json"});
  CHECK(listing.strays == std::vector<std::string>{"deploy.json", "my replay.json"});

  CHECK(queue_layout::exists(tmp.path(), a));
  CHECK_FALSE(queue_layout::exists(tmp.path(), "nope.json"));
  CHECK_FALSE(queue_layout::exists(tmp.path(), "../" + tmp.path().filename().string()));

  CHECK(queue_layout::list_entries(tmp / "missing", listing) ==
        std::errc::no_such_file_or_directory);
  CHECK(listing.entries.empty());
}

TEST_CASE("read_entry reads a regular file whole, up to the limit") {
  test::TempDir tmp("queue-read");
  test::write_file(tmp / "ok.json", std::string(1000, 'a'));
  std::string out;
  REQUIRE_FALSE(read_entry(tmp.path(), "ok.json", 1000, out));
  CHECK(out == std::string(1000, 'a'));
  const auto ec = read_entry(tmp.path(), "ok.json", 999, out);
  CHECK(ec == std::errc::file_too_large);
  CHECK(out.empty());
  CHECK(queue_layout::describe(ec, 999) == "larger than 999 bytes");

  test::write_file(tmp / "empty.json", "");
  REQUIRE_FALSE(read_entry(tmp.path(), "empty.json", 0, out));
  CHECK(out.empty());

  CHECK(read_entry(tmp.path(), "gone.json", 10, out) == std::errc::no_such_file_or_directory);
  CHECK(read_entry(tmp.path(), "../ok.json", 10, out) == queue_layout::errc::invalid_name);
}

TEST_CASE("read_entry refuses symbolic links and folders") {
  test::TempDir tmp("queue-read");
  test::write_file(tmp / "secret", "do not read");
  std::filesystem::create_symlink(tmp / "secret", tmp / "link.json");
  std::string out;
  const auto ec = read_entry(tmp.path(), "link.json", 1000, out);
  CHECK(ec == std::errc::too_many_symbolic_link_levels);
  CHECK(queue_layout::describe(ec) == "is a symbolic link");
  CHECK(out.empty());

  std::filesystem::create_directory(tmp / "dir.json");
  const auto dir_ec = read_entry(tmp.path(), "dir.json", 1000, out);
  CHECK(dir_ec == std::errc::is_a_directory);
  CHECK(queue_layout::describe(dir_ec) == "is a directory");
}

TEST_CASE("read_entry refuses a FIFO without blocking") {
  test::TempDir tmp("queue-read");
  const auto fifo = tmp / "fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::atomic<bool> finished{false};
  std::error_code ec;
  std::thread reader([&] {
    std::string out;
    ec = read_entry(tmp.path(), "fifo.json", 1000, out);
    finished = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const bool blocked = !finished;
  if (blocked) {
    // Unblock the reader so the test fails instead of hanging: a writer completes its open.
    const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w >= 0) ::close(w);
  }
  reader.join();
  REQUIRE_FALSE(blocked);
  CHECK(ec == queue_layout::errc::not_a_regular_file);
  CHECK(queue_layout::describe(ec) == "is not a regular file");
}

TEST_CASE("entry age comes from the modification time") {
  test::TempDir tmp("queue-read");
  test::write_file(tmp / "new.json", "{}");
  std::chrono::nanoseconds age{};
  REQUIRE_FALSE(queue_layout::entry_age(tmp.path(), "new.json", age));
  CHECK(age < std::chrono::seconds(30));

  test::write_file(tmp / "old.json", "{}");
  const timeval hour_ago[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  REQUIRE(::utimes((tmp / "old.json").c_str(), hour_ago) == 0);
  REQUIRE_FALSE(queue_layout::entry_age(tmp.path(), "old.json", age));
  CHECK(age >= std::chrono::minutes(59));
  CHECK(age < std::chrono::minutes(61));

  std::chrono::system_clock::time_point mtime;
  REQUIRE_FALSE(queue_layout::entry_mtime(tmp.path(), "old.json", mtime));
  CHECK(std::chrono::system_clock::to_time_t(mtime) <= ::time(nullptr) - 3599);
  CHECK(queue_layout::entry_age(tmp.path(), "missing.json", age) ==
        std::errc::no_such_file_or_directory);
  CHECK(queue_layout::describe(std::make_error_code(std::errc::no_such_file_or_directory)) ==
        "does not exist");
}
