// skip_test.cpp: test::skip (tests/support/skip.hpp) ends a test binary with exit status 77 and a
// line naming the test and the reason, which ctest (SKIP_RETURN_CODE 77) reports as skipped.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "tests/support/child.hpp"
#include "tests/support/skip.hpp"

// Hidden ([.]): run only by the test below, in a child process of this same binary.
TEST_CASE("a test that cannot run here", "[.][skip-probe]") {
  test::skip("the probe always skips");
  FAIL("test::skip returned");
}

TEST_CASE("test::skip ends the test binary with status 77 and says why") {
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto r = test::run({self, "[skip-probe]"});
  INFO(r.output);
  CHECK(r.status == 77);
  CHECK(r.output.find("SKIPPED: a test that cannot run here: the probe always skips") !=
        std::string::npos);
  CHECK(r.output.find("test::skip returned") == std::string::npos);
}
