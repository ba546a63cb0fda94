#include "tests/support/skip.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tests/support/temp_dir.hpp"

namespace test {

void skip(const std::string& reason) {
  std::string test_name = "test";
  if (Catch::getCurrentContext().getResultCapture() != nullptr) {
    test_name = Catch::getResultCapture().getCurrentTestName();
  }
  const std::string line = "SKIPPED: " + test_name + ": " + reason + "\n";
  std::fflush(stdout);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  // _Exit, not exit: other threads of the test may still run, and static destructors under
  // their feet could crash and turn the skip into a failure.
  std::_Exit(77);
}

void require_root(const std::string& why) {
  if (::geteuid() != 0) skip("not running as root (" + why + ")");
}

void require_tmpfs() {
  std::string error;
  {
    TempDir scratch("tmpfs-probe");
    if (::mount("tmpfs", scratch.path().c_str(), "tmpfs", 0, "size=64k") != 0) {
      error = std::string("mount -t tmpfs: ") + std::strerror(errno);
    } else {
      ::umount2(scratch.path().c_str(), MNT_DETACH);
    }
  }  // the scratch folder is removed before a skip, which runs no destructor
  if (!error.empty()) skip("cannot mount a tmpfs here: " + error);
}

}  // namespace test
