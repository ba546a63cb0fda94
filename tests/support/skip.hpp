// Ending a test that cannot run where it is (not root, no tmpfs) so that it is reported as
// skipped, never as passed. Every test is registered with ctest as SKIP_RETURN_CODE 77
// (tests/CMakeLists.txt), and .ci/run fails when anything was skipped: on CI everything must run.
#pragma once

#include <string>

namespace test {

/// Prints "SKIPPED: <test case>: <reason>" on stderr and ends the test binary at once with exit
/// status 77. No destructor runs: call it before the test creates folders or starts processes.
[[noreturn]] void skip(const std::string& reason);

/// Skips (test::skip) unless the test runs as root; `why` says what needs root.
void require_root(const std::string& why);

/// Skips unless a tmpfs can be mounted here (root and mount(2) allowed), found out by mounting
/// and unmounting one on a scratch folder.
void require_tmpfs();

}  // namespace test
