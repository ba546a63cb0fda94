// The publish protocol: call order (fsync of the data before the rename, fsync of the folder
// after), invisibility of the temporary, no replacement, and a fault at every single call.
#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"
#include "queue-layout/publish.hpp"
#include "queue-layout/recover.hpp"
#include "queue-layout/scan.hpp"
#include "tests/queue/helpers.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/temp_dir.hpp"

using queue_layout::FaultInjectingFs;
using queue_layout::FsOp;
using queue_test::contents;
using queue_test::dot_files;
using queue_test::entries;

namespace {

const std::string kName = "00000000000000000042-delivery.json";

std::vector<std::string> ops(const std::vector<queue_layout::FsCall>& record) {
  std::vector<std::string> out;
  for (const auto& c : record)
    out.push_back(std::string(queue_layout::to_string(c.op)) + " " + c.target);
  return out;
}

/// A FileSystem that, before and after every call, lists the folder and checks what a reader
/// would see: nothing, or the complete entry. It proves the temporary is never visible.
class ObservingFs final : public queue_layout::FileSystem {
 public:
  ObservingFs(std::filesystem::path dir, std::string expected)
      : dir_(std::move(dir)), expected_(std::move(expected)) {}
  std::size_t observations = 0;
  std::size_t saw_entry = 0;

  std::error_code open(int d, const char* n, int f, mode_t m, int& fd) override {
    look();
    auto ec = real().open(d, n, f, m, fd);
    look();
    return ec;
  }
  std::error_code write(int fd, const char* p, std::size_t s, std::size_t& w) override {
    look();
    auto ec = real().write(fd, p, s > 5 ? 5 : s, w);  // short writes: more moments to look at
    look();
    return ec;
  }
  std::error_code fsync(int fd) override {
    return around([&] { return real().fsync(fd); });
  }
  std::error_code close(int fd) override {
    return around([&] { return real().close(fd); });
  }
  std::error_code rename_noreplace(int a, const char* b, int c, const char* d) override {
    return around([&] { return real().rename_noreplace(a, b, c, d); });
  }
  std::error_code link(int a, const char* b, int c, const char* d) override {
    return around([&] { return real().link(a, b, c, d); });
  }
  std::error_code unlink(int d, const char* n, int f) override {
    return around([&] { return real().unlink(d, n, f); });
  }
  std::error_code mkdir(int d, const char* n, mode_t m) override {
    return around([&] { return real().mkdir(d, n, m); });
  }
  std::error_code stat(int d, const char* n, struct ::stat& st, int f) override {
    return around([&] { return real().stat(d, n, st, f); });
  }

 private:
  static queue_layout::FileSystem& real() { return queue_layout::real_fs(); }
  template <typename F>
  std::error_code around(F f) {
    look();
    auto ec = f();
    look();
    return ec;
  }
  void look() {
    ++observations;
    const auto names = entries(dir_);
    if (names.empty()) return;
    REQUIRE(names == std::vector<std::string>{kName});
    REQUIRE(contents(dir_, kName) == expected_);
    ++saw_entry;
  }
  std::filesystem::path dir_;
  std::string expected_;
};

}  // namespace

TEST_CASE("publish fsyncs the data before the rename and the folder after it") {
  test::TempDir tmp("queue-publish");
  FaultInjectingFs fs;
  fs.set_max_write(4);  // forces the short-write loop
  const std::string bytes = "{\"event\":\"push\"}";
  REQUIRE_FALSE(queue_layout::publish(tmp.path(), kName, bytes, fs));

  const std::string temp = queue_layout::temporary_name(kName);
  CHECK(temp == "." + kName + "." + std::to_string(::getpid()) + ".tmp");
  const std::vector<std::string> expected = {
      "open " + tmp.path().string(),
      "open " + temp,
      "write " + temp,
      "write " + temp,
      "write " + temp,
      "write " + temp,
      "fsync " + temp,
      "close " + temp,
      "rename " + temp + " -> " + kName,
      "fsync " + tmp.path().string(),
  };
  CHECK(ops(fs.record()) == expected);
  CHECK(entries(tmp.path()) == std::vector<std::string>{kName});
  CHECK(contents(tmp.path(), kName) == bytes);
  CHECK(dot_files(tmp.path()).empty());

  struct ::stat st {};
  REQUIRE(::stat((tmp / kName).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("a reader never sees the temporary or a partial entry") {
  test::TempDir tmp("queue-publish");
  const std::string bytes(200, 'p');
  ObservingFs fs(tmp.path(), bytes);
  REQUIRE_FALSE(queue_layout::publish(tmp.path(), kName, bytes, fs));
  CHECK(fs.observations > 40);  // 40 writes of 5 bytes, each looked at before and after
  CHECK(fs.saw_entry == 3);     // only from the rename on: after it, around the folder fsync
}

TEST_CASE("publish never replaces an existing entry") {
  test::TempDir tmp("queue-publish");
  REQUIRE_FALSE(queue_layout::publish(tmp.path(), kName, "first"));
  CHECK(queue_layout::publish(tmp.path(), kName, "second") == std::errc::file_exists);
  CHECK(contents(tmp.path(), kName) == "first");
  CHECK(dot_files(tmp.path()).empty());
}

TEST_CASE("publish refuses names that are not plain, visible file names") {
  test::TempDir tmp("queue-publish");
  for (const std::string bad :
       {"", ".hidden.json", "a/b.json", "../x.json", "a b.json", "é.json"}) {
    CAPTURE(bad);
    CHECK(queue_layout::publish(tmp.path(), bad, "x") == queue_layout::errc::invalid_name);
  }
  CHECK_FALSE(queue_layout::publish(tmp.path(), kName + ".reason", "why"));
  CHECK_FALSE(queue_layout::publish(tmp.path(), kName + ".error.json", "{}"));
  CHECK(queue_layout::publish(tmp / "missing", kName, "x") == std::errc::no_such_file_or_directory);
}

TEST_CASE("a leftover temporary of this pid is reported, then cleared by recovery") {
  test::TempDir tmp("queue-publish");
  test::write_file(tmp / queue_layout::temporary_name(kName), "stale");
  CHECK(queue_layout::publish(tmp.path(), kName, "x") == queue_layout::errc::temporary_exists);
  CHECK(entries(tmp.path()).empty());
  CHECK(queue_layout::remove_stale_temporaries(tmp.path()) == 1);
  REQUIRE_FALSE(queue_layout::publish(tmp.path(), kName, "x"));
  CHECK(contents(tmp.path(), kName) == "x");
}

TEST_CASE("a fault at any call of publish leaves no partial entry and no temporary") {
  const std::string bytes(10'000, 'z');
  for (const int error : {ENOSPC, EIO}) {
    std::size_t n = 1;
    for (;; ++n) {
      CAPTURE(error, n);
      test::TempDir tmp("queue-publish-fault");
      FaultInjectingFs fs;
      fs.set_max_write(4096);  // three writes: a fault lands in the middle of the data too
      fs.fail_call(n, error);
      const auto ec = queue_layout::publish(tmp.path(), kName, bytes, fs);
      if (fs.injected() == 0) {  // n is past the last call: the protocol completed
        REQUIRE_FALSE(ec);
        CHECK(contents(tmp.path(), kName) == bytes);
        break;
      }
      CHECK(ec == queue_layout::errno_code(error));
      CHECK(dot_files(tmp.path()).empty());
      const auto listed = entries(tmp.path());
      const auto failed = fs.record().at(n - 1);  // counting every call: the nth is the one
      CAPTURE(queue_layout::to_string(failed.op), failed.target);
      if (failed.op == FsOp::fsync && failed.target == tmp.path().string()) {
        // The folder fsync is the only step after the rename: the entry is visible and
        // complete but not known durable, and the caller was told so.
        CHECK(listed == std::vector<std::string>{kName});
        CHECK(contents(tmp.path(), kName) == bytes);
      } else {
        CHECK(listed.empty());
      }
    }
    CHECK(n == 10);  // open dir, open temp, 3 writes, fsync, close, rename, fsync dir: 9 calls
  }
}

TEST_CASE("a disk that stays full fails publish cleanly") {
  test::TempDir tmp("queue-publish-fault");
  FaultInjectingFs fs;
  fs.fail_call(1, ENOSPC, FsOp::write, /*sticky=*/true);
  CHECK(queue_layout::publish(tmp.path(), kName, "data", fs) == std::errc::no_space_on_device);
  CHECK(entries(tmp.path()).empty());
  CHECK(dot_files(tmp.path()).empty());
}

TEST_CASE("without RENAME_NOREPLACE publish falls back to link and unlink") {
  test::TempDir tmp("queue-publish-fallback");
  FaultInjectingFs fs;
  fs.fail_call(1, EINVAL, FsOp::rename, /*sticky=*/true);  // "flag not supported"
  REQUIRE_FALSE(queue_layout::publish(tmp.path(), kName, "linked", fs));
  CHECK(contents(tmp.path(), kName) == "linked");
  CHECK(dot_files(tmp.path()).empty());
  CHECK(fs.calls(FsOp::link) == 1);

  // link refuses to replace too.
  CHECK(queue_layout::publish(tmp.path(), kName, "other", fs) == std::errc::file_exists);
  CHECK(contents(tmp.path(), kName) == "linked");
  CHECK(dot_files(tmp.path()).empty());

  // A fault at each call of the fallback path. The outer wrapper answers every rename with
  // EINVAL; the inner one sees the rest: open dir, open temp, write, fsync, close, link,
  // unlink temp, fsync dir.
  std::size_t n = 1;
  for (;; ++n) {
    CAPTURE(n);
    test::TempDir dir("queue-publish-fallback");
    FaultInjectingFs faulty;
    faulty.fail_call(n, EIO);
    FaultInjectingFs no_noreplace(static_cast<queue_layout::FileSystem&>(faulty));
    no_noreplace.fail_call(1, EINVAL, FsOp::rename, /*sticky=*/true);
    const auto ec = queue_layout::publish(dir.path(), kName, "abc", no_noreplace);
    if (faulty.injected() == 0) {
      REQUIRE_FALSE(ec);
      CHECK(contents(dir.path(), kName) == "abc");
      break;
    }
    const auto failed = faulty.record().at(n - 1);
    CAPTURE(queue_layout::to_string(failed.op), failed.target);
    if (failed.op == FsOp::unlink) {
      // The entry is published; the temporary is a second name of the same complete file,
      // left for recovery rather than reporting a failure that would make the caller publish
      // the entry twice.
      CHECK_FALSE(ec);
      CHECK(contents(dir.path(), kName) == "abc");
      CHECK(dot_files(dir.path()) == std::vector<std::string>{queue_layout::temporary_name(kName)});
      CHECK(queue_layout::remove_stale_temporaries(dir.path()) == 1);
      CHECK(contents(dir.path(), kName) == "abc");
    } else if (failed.op == FsOp::fsync && failed.target == dir.path().string()) {
      CHECK(ec == std::errc::io_error);
      CHECK(entries(dir.path()) == std::vector<std::string>{kName});
      CHECK(contents(dir.path(), kName) == "abc");
      CHECK(dot_files(dir.path()).empty());
    } else {
      CHECK(ec == std::errc::io_error);
      CHECK(entries(dir.path()).empty());
      CHECK(dot_files(dir.path()).empty());
    }
  }
  CHECK(n == 9);
}
