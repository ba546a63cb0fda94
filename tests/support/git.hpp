// Real git repositories for tests: a bare "origin" in a temp folder, commits pushed to it from a
// private author clone, and clones of it used as deployment paths (as on the server).
//
//   test::TempDir tmp;
//   test::GitOrigin origin(tmp / "repo");
//   std::string a = origin.commit({{"README.md", "one\n"}});
//   origin.clone_to(tmp / "app");                 // the deployment's working tree
//   std::string b = origin.commit({{"server/package.json", "{}\n"}}, "second");
//
// Everything runs /usr/bin/git through test::run (no shell), with a fixed author and committer,
// no user or system configuration (GIT_CONFIG_GLOBAL/NOSYSTEM), and throws std::runtime_error with
// git's output when a command fails.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace test {

/// Runs `git -C cwd args...`; returns its output with the trailing newline removed. Throws when
/// git exits non-zero.
std::string git(const std::filesystem::path& cwd, const std::vector<std::string>& args);

/// The environment used for git in tests (identity, no global configuration).
std::map<std::string, std::string> git_env();

class GitOrigin {
 public:
  /// Creates `dir/origin.git` (bare, default branch `branch`) and `dir/author` (a clone used to
  /// make commits). `dir` is created if missing.
  explicit GitOrigin(const std::filesystem::path& dir, const std::string& branch = "main");

  /// The bare repository's path: what a deployment's "remote" or a clone uses as URL.
  const std::filesystem::path& url() const { return bare_; }

  /// Writes `files` (relative path -> content; folders are created) in the author clone on
  /// `branch` (created from the current commit if new), commits with `message` and pushes.
  /// Returns the new commit's sha.
  std::string commit(const std::map<std::string, std::string>& files,
                     const std::string& message = "change", const std::string& branch = "main");

  /// Removes `paths` on `branch`, commits and pushes; returns the sha.
  std::string remove(const std::vector<std::string>& paths, const std::string& message = "remove",
                     const std::string& branch = "main");

  /// The sha `branch` points at in origin.
  std::string head(const std::string& branch = "main") const;

  /// Clones origin into `path` (a deployment's working tree), on `branch`.
  void clone_to(const std::filesystem::path& path, const std::string& branch = "main") const;

 private:
  void switch_to(const std::string& branch);

  std::filesystem::path bare_;
  std::filesystem::path author_;
  std::string current_branch_;
};

/// The commit checked out in a working tree (`git rev-parse HEAD`).
std::string checked_out(const std::filesystem::path& work_tree);

}  // namespace test
