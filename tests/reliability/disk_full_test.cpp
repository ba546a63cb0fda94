// disk_full_test.cpp: the receiver on a real, tiny filesystem (a 1 MiB tmpfs mounted over its
// state directory; needs root, which these test machines run as, else the test is skipped:
// test::require_tmpfs, exit status 77). When the disk is full every webhook is answered 503 and
// nothing, not even a dot-temporary, is left in inbox/; once space returns the same receiver
// answers 202 again without a restart. The in-process ENOSPC/EIO cases live in
// tests/receiver/inbox_test.cpp (queue_layout::FaultInjectingFs).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/receiver/receiver_process.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/http.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

// Unmounts (lazily: the receiver may still hold the folder) when the test ends.
struct Mount {
  std::filesystem::path dir;
  bool mounted = false;
  ~Mount() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

// Fills the filesystem holding `file` until write() fails with ENOSPC; returns bytes written.
std::size_t fill(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  std::string block(4096, 'x');
  std::size_t total = 0;
  while (true) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return total;
}

}  // namespace

TEST_CASE(
    "on a full disk the receiver answers 503 leaves nothing and recovers when space returns") {
  test::require_tmpfs();
  test::ReceiverOptions options;
  options.start = false;
  test::ReceiverProcess receiver(options);
  std::filesystem::create_directories(receiver.state());
  Mount mount{receiver.state()};
  // require_tmpfs said mounting works here: a failure now is a failure of the test.
  const int mounted = ::mount("tmpfs", receiver.state().c_str(), "tmpfs", 0, "size=1m,mode=0700");
  INFO("mount -t tmpfs: " << std::strerror(errno));
  REQUIRE(mounted == 0);
  mount.mounted = true;
  receiver.start();

  auto first = receiver.send(test::http::webhook_request(receiver.webhook()));
  REQUIRE(first.status == 202);

  const auto filler = receiver.state() / "filler";
  std::size_t filled = fill(filler);
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    // Bodies of a few KiB: bigger than what is left, so even the first write fails.
    auto hook = receiver.webhook(R"({"zen":")" + std::string(8000, 'z') + R"("})");
    auto r = receiver.send(test::http::webhook_request(hook));
    INFO(r.body);
    CHECK(r.status == 503);
    if (r.status == 503) ++refused;
  }
  // Nothing half written: only the first entry, no temporaries.
  CHECK(receiver.all_files() == receiver.entries());
  CHECK(receiver.entries().size() == 1);

  std::filesystem::remove(filler);
  auto after = receiver.send(test::http::webhook_request(receiver.webhook()));
  CHECK(after.status == 202);
  CHECK(receiver.entries().size() == 2);
  CHECK(receiver.child().running());
  std::cout << "disk full: filled " << filled << " bytes of a 1 MiB tmpfs, " << refused
            << "/20 webhooks answered 503, nothing left behind, 202 again after freeing space"
            << std::endl;
}
