// Test helpers over real git repositories; see git.hpp.
#include "tests/support/git.hpp"

#include <stdexcept>

#include "tests/support/child.hpp"
#include "tests/support/temp_dir.hpp"

namespace test {

std::map<std::string, std::string> git_env() {
  return {
      {"GIT_AUTHOR_NAME", "Test Author"},    {"GIT_AUTHOR_EMAIL", "author@example.com"},
      {"GIT_COMMITTER_NAME", "Test Author"}, {"GIT_COMMITTER_EMAIL", "author@example.com"},
      {"GIT_CONFIG_NOSYSTEM", "1"},          {"GIT_CONFIG_GLOBAL", "/dev/null"},
      {"GIT_TERMINAL_PROMPT", "0"},
  };
}

std::string git(const std::filesystem::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/git", "-C", cwd.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult result = run(argv, git_env());
  if (result.status != 0) {
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    throw std::runtime_error("git" + shown + " in " + cwd.string() + " failed (" +
                             std::to_string(result.status) + "): " + result.output);
  }
  while (!result.output.empty() && (result.output.back() == '\n' || result.output.back() == '\r')) {
    result.output.pop_back();
  }
  return result.output;
}

GitOrigin::GitOrigin(const std::filesystem::path& dir, const std::string& branch)
    : bare_(dir / "origin.git"), author_(dir / "author"), current_branch_(branch) {
  std::filesystem::create_directories(dir);
  git(dir, {"init", "--quiet", "--bare", "--initial-branch=" + branch, bare_.string()});
  git(dir, {"init", "--quiet", "--initial-branch=" + branch, author_.string()});
  git(author_, {"remote", "add", "origin", bare_.string()});
}

void GitOrigin::switch_to(const std::string& branch) {
  if (branch == current_branch_) return;
  bool exists = true;
  try {
    git(author_, {"rev-parse", "--verify", "--quiet", "refs/heads/" + branch});
  } catch (const std::runtime_error&) {
    exists = false;
  }
  if (exists) {
    git(author_, {"checkout", "--quiet", branch});
  } else {
    git(author_, {"checkout", "--quiet", "-b", branch});
  }
  current_branch_ = branch;
}

std::string GitOrigin::commit(const std::map<std::string, std::string>& files,
                              const std::string& message, const std::string& branch) {
  switch_to(branch);
  for (const auto& [path, content] : files) {
    auto file = author_ / path;
    std::filesystem::create_directories(file.parent_path());
    write_file(file, content);
    git(author_, {"add", "--", path});
  }
  git(author_, {"commit", "--quiet", "--allow-empty", "-m", message});
  git(author_, {"push", "--quiet", "origin", "HEAD:refs/heads/" + branch});
  return git(author_, {"rev-parse", "HEAD"});
}

std::string GitOrigin::remove(const std::vector<std::string>& paths, const std::string& message,
                              const std::string& branch) {
  switch_to(branch);
  std::vector<std::string> args{"rm", "--quiet", "--"};
  args.insert(args.end(), paths.begin(), paths.end());
  git(author_, args);
  git(author_, {"commit", "--quiet", "-m", message});
  git(author_, {"push", "--quiet", "origin", "HEAD:refs/heads/" + branch});
  return git(author_, {"rev-parse", "HEAD"});
}

std::string GitOrigin::head(const std::string& branch) const {
  return git(bare_, {"rev-parse", "refs/heads/" + branch});
}

void GitOrigin::clone_to(const std::filesystem::path& path, const std::string& branch) const {
  git(path.parent_path(), {"clone", "--quiet", "--branch", branch, bare_.string(), path.string()});
}

std::string checked_out(const std::filesystem::path& work_tree) {
  return git(work_tree, {"rev-parse", "HEAD"});
}

}  // namespace test
