// The state directory: folder paths, creation with mode 0700, fsync of each created folder's
// parent, refusal of unsafe deployment names.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"
#include "queue-layout/layout.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/temp_dir.hpp"

using queue_layout::Layout;

namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct ::stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  REQUIRE(S_ISDIR(st.st_mode));
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("layout paths follow the documented layout") {
  const Layout layout("/srv/state");
  CHECK(layout.inbox() == "/srv/state/inbox");
  CHECK(layout.queue("durhack") == "/srv/state/queues/durhack");
  CHECK(layout.active("durhack") == "/srv/state/active/durhack");
  CHECK(layout.done("durhack") == "/srv/state/done/durhack");
  CHECK(layout.failed("durhack") == "/srv/state/failed/durhack");
  CHECK(layout.logs("durhack") == "/srv/state/logs/durhack");
  CHECK(layout.rejected() == "/srv/state/rejected");
  CHECK(layout.locks() == "/srv/state/locks");
  // The order an entry travels.
  CHECK(layout.entry_folders("durhack") ==
        std::array<std::filesystem::path, 4>{layout.queue("durhack"), layout.active("durhack"),
                                             layout.done("durhack"), layout.failed("durhack")});
  CHECK_THROWS_AS(layout.queue("../etc"), std::invalid_argument);
  CHECK_THROWS_AS(layout.done(""), std::invalid_argument);
}

TEST_CASE("ensure_layout creates every folder 0700 and fsyncs each parent") {
  test::TempDir tmp("queue-layout");
  const Layout layout(tmp / "var" / "state");
  queue_layout::FaultInjectingFs fs;
  REQUIRE_FALSE(queue_layout::ensure_layout(layout, {"durhack", "durhack-staging"}, fs));
  for (const auto& d :
       {layout.root(), layout.inbox(), layout.rejected(), layout.locks(), layout.queue("durhack"),
        layout.active("durhack"), layout.done("durhack"), layout.failed("durhack"),
        layout.logs("durhack-staging"), layout.queue("durhack-staging")}) {
    CAPTURE(d);
    CHECK(mode_of(d) == 0700);
  }
  // var, state, inbox, rejected, locks, queues, active, done, failed, logs (x2 deployments:
  // the five group folders once, ten per-deployment folders).
  const std::size_t created = 2 + 3 + 5 + 10;
  CHECK(fs.calls(queue_layout::FsOp::mkdir) == created);
  // Every mkdir is followed by an fsync of the folder it was made in.
  const auto record = fs.record();
  std::size_t checked = 0;
  for (std::size_t i = 0; i < record.size(); ++i) {
    if (record[i].op != queue_layout::FsOp::mkdir) continue;
    REQUIRE(i + 1 < record.size());
    CHECK(record[i + 1].op == queue_layout::FsOp::fsync);
    ++checked;
  }
  CHECK(checked == created);

  // Idempotent: a second run creates nothing.
  fs.reset();
  REQUIRE_FALSE(queue_layout::ensure_layout(layout, {"durhack", "durhack-staging"}, fs));
  CHECK(fs.calls(queue_layout::FsOp::mkdir) == 0);
}

TEST_CASE("ensure_layout refuses unsafe names and reports what is in the way") {
  test::TempDir tmp("queue-layout");
  const Layout layout(tmp / "state");
  CHECK(queue_layout::ensure_layout(layout, {"ok", "../escape"}) ==
        queue_layout::errc::invalid_name);
  CHECK_FALSE(std::filesystem::exists(tmp / "state"));  // checked before anything is created

  test::write_file(tmp / "file", "x");
  CHECK(queue_layout::ensure_dir(tmp / "file") == std::errc::not_a_directory);
  CHECK(queue_layout::ensure_dir(tmp / "file" / "sub") == std::errc::not_a_directory);

  queue_layout::FaultInjectingFs fs;
  fs.fail_call(1, ENOSPC, queue_layout::FsOp::mkdir);
  CHECK(queue_layout::ensure_layout(layout, {"d"}, fs) == std::errc::no_space_on_device);
  fs.clear_fault();
  CHECK_FALSE(queue_layout::ensure_layout(layout, {"d"}, fs));
}
