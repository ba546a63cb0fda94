// Helpers shared by the ledger tests: a migrated per-test database, stderr capture (the ledger's
// log lines), and short builders for delivery records.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/ledger/ledger.hpp"
#include "common/ledger/migrations.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace ledger_test {

/// A fresh database in the fixture cluster, with every migration applied.
class MigratedDatabase {
 public:
  MigratedDatabase() { ledger::migrate(db_.url()); }
  const std::string& url() const { return db_.url(); }

 private:
  test::Database db_;
};

/// Runs body() with fd 2 pointed at a file; returns what was written there. stderr is restored
/// even when body() throws (the exception is then rethrown).
template <typename Body>
std::string capture_stderr(Body body) {
  test::TempDir dir("ledger-stderr");
  const auto file = dir / "stderr";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const int saved = ::dup(STDERR_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(fd, STDERR_FILENO) == STDERR_FILENO);
  auto restore = [&] {
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(fd);
  };
  try {
    body();
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return test::read_file(file);
}

/// How many lines of `text` contain `needle`.
inline int count_lines(const std::string& text, const std::string& needle) {
  int count = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.substr(start, end - start).find(needle) != std::string::npos) ++count;
    start = end + 1;
  }
  return count;
}

inline ledger::DeliveryRecord receipt(const std::string& hook, const std::string& id,
                                      const std::string& entry, ledger::Decision decision,
                                      const std::string& reason = "") {
  ledger::DeliveryRecord record;
  record.key = {hook, id};
  record.entry_name = entry;
  record.event = "push";
  record.decision = decision;
  record.reason = reason;
  return record;
}

}  // namespace ledger_test
