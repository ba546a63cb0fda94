// A fresh folder per test, removed with everything in it when the test ends.
#pragma once

#include <filesystem>
#include <string>

namespace test {

class TempDir {
 public:
  /// Creates a new empty folder under $TMPDIR (or /tmp), mode 0755 so the `postgres` user and
  /// child processes can enter it.
  explicit TempDir(const std::string& prefix = "deploy-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

/// Writes a whole file (not durable: test data only).
void write_file(const std::filesystem::path& file, const std::string& bytes);
/// Reads a whole file; throws when it cannot.
std::string read_file(const std::filesystem::path& file);

}  // namespace test
