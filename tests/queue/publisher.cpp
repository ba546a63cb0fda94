// queue_test_publisher DIR COUNT TAG SIZE [nosync]: publishes COUNT entries (0: until killed)
// into DIR, named "<stamp>-<TAG>-<n>.json" with payload_for(name, SIZE), and exits 0; on the
// first error it prints it and exits 1. Used by processes_test.cpp (concurrent publishers,
// kill -9). "nosync" turns fsync into a no-op through the FileSystem seam: a process-level test
// (names, O_EXCL, no-replace renames, ordering) does not need the disk's durability, and
// without it 20,000 publishes take seconds instead of minutes on a busy disk.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "queue-layout/fs.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"
#include "tests/queue/payload.hpp"

namespace {

/// Every call goes to the real file system, except fsync, which does nothing.
class NoSyncFs final : public queue_layout::FileSystem {
 public:
  std::error_code open(int d, const char* n, int f, mode_t m, int& fd) override {
    return real().open(d, n, f, m, fd);
  }
  std::error_code write(int fd, const char* p, std::size_t s, std::size_t& w) override {
    return real().write(fd, p, s, w);
  }
  std::error_code fsync(int) override { return {}; }
  std::error_code close(int fd) override { return real().close(fd); }
  std::error_code rename_noreplace(int a, const char* b, int c, const char* d) override {
    return real().rename_noreplace(a, b, c, d);
  }
  std::error_code link(int a, const char* b, int c, const char* d) override {
    return real().link(a, b, c, d);
  }
  std::error_code unlink(int d, const char* n, int f) override { return real().unlink(d, n, f); }
  std::error_code mkdir(int d, const char* n, mode_t m) override { return real().mkdir(d, n, m); }
  std::error_code stat(int d, const char* n, struct ::stat& st, int f) override {
    return real().stat(d, n, st, f);
  }

 private:
  static queue_layout::FileSystem& real() { return queue_layout::real_fs(); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && !(argc == 6 && std::strcmp(argv[5], "nosync") == 0)) {
    std::fprintf(stderr, "usage: %s DIR COUNT TAG SIZE [nosync]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const long count = std::atol(argv[2]);
  const std::string tag = argv[3];
  const std::size_t size = static_cast<std::size_t>(std::atol(argv[4]));
  NoSyncFs no_sync;
  queue_layout::FileSystem& fs = argc == 6 ? no_sync : queue_layout::real_fs();
  queue_layout::NameClock clock;
  for (long n = 1; count == 0 || n <= count; ++n) {
    const std::string name = clock.next(tag + "-" + std::to_string(n));
    if (const auto ec = queue_layout::publish(dir, name, queue_test::payload_for(name, size), fs)) {
      std::fprintf(stderr, "publish %s/%s: %s\n", dir.c_str(), name.c_str(), ec.message().c_str());
      return 1;
    }
  }
  return 0;
}
