// The fault-injection seam itself: counting, Nth-call faults (any kind or one kind, once or
// sticky), the call record, and short writes.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/temp_dir.hpp"

using queue_layout::FaultInjectingFs;
using queue_layout::FsOp;

TEST_CASE("fault fs fails exactly the chosen call and records names for descriptors") {
  test::TempDir tmp("queue-fs");
  FaultInjectingFs fs;
  fs.fail_call(2, EIO, FsOp::write);
  int fd = -1;
  REQUIRE_FALSE(fs.open(AT_FDCWD, (tmp / "f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600, fd));
  std::size_t written = 0;
  CHECK_FALSE(fs.write(fd, "ab", 2, written));
  CHECK(written == 2);
  CHECK(fs.write(fd, "cd", 2, written) == std::errc::io_error);
  CHECK(written == 0);
  CHECK_FALSE(fs.write(fd, "ef", 2, written));  // not sticky: only the second write
  CHECK_FALSE(fs.fsync(fd));
  CHECK_FALSE(fs.close(fd));
  CHECK(test::read_file(tmp / "f") == "abef");
  CHECK(fs.calls() == 6);
  CHECK(fs.calls(FsOp::write) == 3);
  CHECK(fs.injected() == 1);
  const auto record = fs.record();
  REQUIRE(record.size() == 6);
  CHECK(record[2].op == FsOp::write);
  CHECK(record[2].injected == EIO);
  CHECK(record[4].op == FsOp::fsync);
  CHECK(record[4].target == (tmp / "f").string());  // the descriptor's name, not "fd N"
}

TEST_CASE("fault fs sticky faults keep failing and a failed close still releases the descriptor") {
  test::TempDir tmp("queue-fs");
  FaultInjectingFs fs;
  fs.fail_call(1, ENOSPC, FsOp::close, /*sticky=*/true);
  for (int k = 0; k < 3; ++k) {
    int fd = -1;
    REQUIRE_FALSE(fs.open(AT_FDCWD, (tmp / "g").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600, fd));
    CHECK(fs.close(fd) == std::errc::no_space_on_device);
    // The descriptor is gone: closing it again fails with EBADF.
    CHECK(::close(fd) == -1);
    CHECK(errno == EBADF);
  }
  CHECK(fs.injected() == 3);
  fs.reset();
  CHECK(fs.calls() == 0);
  CHECK(fs.record().empty());
  int fd = -1;
  REQUIRE_FALSE(fs.open(AT_FDCWD, (tmp / "g").c_str(), O_WRONLY | O_CLOEXEC, 0, fd));
  CHECK_FALSE(fs.close(fd));  // reset cleared the fault
}

TEST_CASE("fault fs can cap writes to force short writes") {
  test::TempDir tmp("queue-fs");
  FaultInjectingFs fs;
  fs.set_max_write(3);
  int fd = -1;
  REQUIRE_FALSE(fs.open(AT_FDCWD, (tmp / "h").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600, fd));
  std::size_t written = 0;
  CHECK_FALSE(fs.write(fd, "abcdef", 6, written));
  CHECK(written == 3);
  CHECK_FALSE(fs.close(fd));
  CHECK(queue_layout::to_string(FsOp::rename) == "rename");
}
