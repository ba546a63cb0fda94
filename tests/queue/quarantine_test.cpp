// Quarantine: the reason is durable before the file moves; strays with odd names, symbolic
// links, FIFOs and folders are moved as directory entries, never followed or opened.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "queue-layout/fs.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/quarantine.hpp"
#include "queue-layout/scan.hpp"
#include "tests/queue/helpers.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/temp_dir.hpp"

using queue_layout::quarantine;

namespace {

struct Folders {
  test::TempDir tmp{"queue-quarantine"};
  std::filesystem::path queue = tmp / "queue";
  std::filesystem::path rejected = tmp / "rejected";
  Folders() {
    std::filesystem::create_directory(queue);
    std::filesystem::create_directory(rejected);
  }
};

mode_t type_of(const std::filesystem::path& p) {
  struct ::stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & S_IFMT;
}

}  // namespace

TEST_CASE("quarantine moves an entry with its reason next to it") {
  Folders f;
  const std::string name = "00000000000000000001-bad.json";
  REQUIRE_FALSE(queue_layout::publish(f.queue, name, "{not json"));
  queue_layout::FaultInjectingFs fs;
  REQUIRE_FALSE(quarantine(f.queue, f.rejected, name, "does not parse: line 1", fs));
  CHECK_FALSE(queue_layout::exists(f.queue, name));
  CHECK(test::read_file(f.rejected / name) == "{not json");
  CHECK(test::read_file(f.rejected / queue_layout::reason_name(name)) ==
        "does not parse: line 1\n");
  // The reason's rename (and folder fsync) comes before the entry's link.
  const auto record = fs.record();
  std::size_t reason_at = 0;
  std::size_t link_at = 0;
  for (std::size_t i = 0; i < record.size(); ++i) {
    if (record[i].op == queue_layout::FsOp::rename) reason_at = i;
    if (record[i].op == queue_layout::FsOp::link) link_at = i;
  }
  CHECK(reason_at > 0);
  CHECK(reason_at < link_at);
}

TEST_CASE("quarantine handles strays, symbolic links, FIFOs and folders without following them") {
  Folders f;
  test::write_file(f.queue / "my replay.json", "{}");
  test::write_file(f.tmp / "target", "private");
  std::filesystem::create_symlink(f.tmp / "target", f.queue / "00000000000000000002-link.json");
  REQUIRE(::mkfifo((f.queue / "00000000000000000003-fifo.json").c_str(), 0600) == 0);
  std::filesystem::create_directory(f.queue / "00000000000000000004-dir.json");
  test::write_file(f.queue / "00000000000000000004-dir.json" / "inside", "x");

  REQUIRE_FALSE(quarantine(f.queue, f.rejected, "my replay.json", "not a canonical name"));
  REQUIRE_FALSE(
      quarantine(f.queue, f.rejected, "00000000000000000002-link.json", "is a symbolic link"));
  REQUIRE_FALSE(
      quarantine(f.queue, f.rejected, "00000000000000000003-fifo.json", "is not a regular file"));
  REQUIRE_FALSE(quarantine(f.queue, f.rejected, "00000000000000000004-dir.json", "is a directory"));

  CHECK(std::filesystem::is_empty(f.queue));
  CHECK(type_of(f.rejected / "my replay.json") == S_IFREG);
  CHECK(type_of(f.rejected / "00000000000000000002-link.json") == S_IFLNK);
  CHECK(type_of(f.rejected / "00000000000000000003-fifo.json") == S_IFIFO);
  CHECK(type_of(f.rejected / "00000000000000000004-dir.json") == S_IFDIR);
  CHECK(test::read_file(f.rejected / "00000000000000000004-dir.json" / "inside") == "x");
  CHECK(test::read_file(f.tmp / "target") == "private");  // the link's target is untouched
  CHECK(test::read_file(f.rejected / "my replay.json.reason") == "not a canonical name\n");
  CHECK(test::read_file(f.rejected / "00000000000000000003-fifo.json.reason") ==
        "is not a regular file\n");
  CHECK(quarantine(f.queue, f.rejected, "../x", "no") == queue_layout::errc::invalid_name);
}

TEST_CASE("a quarantined file is never without its reason, whatever call fails") {
  const std::string name = "00000000000000000005-x.json";
  std::size_t n = 1;
  for (;; ++n) {
    CAPTURE(n);
    Folders f;
    REQUIRE_FALSE(queue_layout::publish(f.queue, name, "payload"));
    queue_layout::FaultInjectingFs fs;
    fs.fail_call(n, EIO);
    const auto ec = quarantine(f.queue, f.rejected, name, "why", fs);
    if (fs.injected() == 0) {
      REQUIRE_FALSE(ec);
      break;
    }
    CHECK(ec == std::errc::io_error);
    const bool in_queue = queue_layout::exists(f.queue, name);
    const bool in_rejected = queue_layout::exists(f.rejected, name);
    CHECK((in_queue || in_rejected));
    if (in_rejected) CHECK(queue_layout::exists(f.rejected, queue_layout::reason_name(name)));
    // The consumer meets the file again and re-runs the quarantine: it completes.
    REQUIRE_FALSE(quarantine(f.queue, f.rejected, name, "why"));
    CHECK_FALSE(queue_layout::exists(f.queue, name));
    CHECK(queue_test::contents(f.rejected, name) == "payload");
    CHECK(test::read_file(f.rejected / queue_layout::reason_name(name)) == "why\n");
  }
  CHECK(n > 10);
}
