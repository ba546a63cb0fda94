// capture_stderr: runs a function with fd 2 pointed at a fresh file and returns what it wrote.
// Shared by the common tests that check lines written with write(2) on stderr.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

#include "tests/support/temp_dir.hpp"

namespace common_test {

template <typename Body>
std::string capture_stderr(Body body) {
  test::TempDir dir;
  const auto file = dir / "stderr";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const int saved = ::dup(STDERR_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(fd, STDERR_FILENO) == STDERR_FILENO);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fd);
  return test::read_file(file);
}

}  // namespace common_test
