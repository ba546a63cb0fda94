// git.hpp: the git commands a deploy needs, run in the deployment's working tree.
//
// Every call is an argv (never a shell string) run through run_command, so a shutdown kills a
// hanging fetch like any step, and its output goes to the run log. Webhook values (shas, refs)
// are validated before they get here and are placed after "--" where git accepts it, so none
// can be taken for an option. GIT_TERMINAL_PROMPT=0: a fetch that needs credentials fails at
// once instead of waiting for a terminal that does not exist.
//
// Failures throw DeployFailure (stage "git fetch", "git checkout", ...) with git's last output
// lines; a shutdown during a call throws Stopped. Nothing here changes the queue or the ledger.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/stop.hpp"
#include "deployer/run_log.hpp"

namespace deployer {

class Git {
 public:
  /// `env` is the complete environment for git (the deployer's own, usually). With `bare`,
  /// `work_tree` is a bare repository (release mode's object store, release_layout.hpp) instead.
  /// `user`: the user git runs as (a deployment's run_as, who owns the repository; empty: the
  /// deployer's own).
  Git(std::filesystem::path work_tree, std::vector<std::string> env, RunLog& log,
      common::StopSignal& stop, bool bare = false, std::string user = {});

  /// Bare mode: creates the bare repository when it has no HEAD yet (`git init --bare`, which
  /// is safe to run again over one a crash left half made).
  boost::asio::awaitable<void> ensure_store();

  /// The commit `ref` names in `remote` now (`git ls-remote`), "" when the remote has no such
  /// ref. Throws DeployFailure "git ls-remote" when the remote cannot be asked.
  boost::asio::awaitable<std::string> remote_tip(const std::string& remote, const std::string& ref);

  /// Bare mode: writes the tree of `sha` into the empty folder `dir` (`git --work-tree=<dir>
  /// checkout --force <sha> -- .` with an index of its own, removed afterwards). HEAD and the
  /// store's refs are untouched.
  boost::asio::awaitable<void> checkout_into(const std::string& sha,
                                             const std::filesystem::path& dir);

  /// Makes sure `sha` is present, fetching from `remote` (a remote name or a URL/path) only when
  /// it is not here yet: first the remote's configured refspecs (or its HEAD for a URL), then
  /// `ref`, then `sha` itself. In bare mode `ref` is fetched into the same ref of the store
  /// first (`+<ref>:<ref>`), so the deployed history stays referenced there.
  /// Throws DeployFailure "commit <sha> does not exist in <remote> after fetch" when it is not.
  boost::asio::awaitable<void> fetch(const std::string& remote, const std::string& ref,
                                     const std::string& sha);

  /// True when `sha` names a commit present in the repository.
  boost::asio::awaitable<bool> has_commit(const std::string& sha);

  /// `git merge-base --is-ancestor ancestor descendant`: true also when they are equal; nullopt
  /// when git cannot tell (a commit missing locally).
  boost::asio::awaitable<std::optional<bool>> is_ancestor(const std::string& ancestor,
                                                          const std::string& descendant);

  /// The commits reachable from `sha`, itself included (`git rev-list --max-count=<limit>`):
  /// at most `limit` of them, newest first; empty when git cannot tell (`sha` missing).
  boost::asio::awaitable<std::vector<std::string>> ancestors(const std::string& sha,
                                                             std::size_t limit);

  /// `git checkout --force --detach <sha>`: the working tree is exactly that commit afterwards
  /// (tracked files; untracked ones such as node_modules are kept), and HEAD is checked to be it.
  boost::asio::awaitable<void> checkout(const std::string& sha);

  /// Paths changed between `previous` and `sha` (`git diff --name-only`), or every tracked file
  /// of `sha` when `previous` is empty or no longer in the repository.
  boost::asio::awaitable<std::vector<std::string>> changed_files(const std::string& previous,
                                                                 const std::string& sha);

  /// The full message of commit `sha` (`git log -1 --format=%B`). Throws DeployFailure
  /// "git log" when git cannot read it.
  boost::asio::awaitable<std::string> commit_message(const std::string& sha);

  /// Verifies the work tree is a folder with .git at its top (no git process); throws
  /// DeployFailure naming the path if not.
  boost::asio::awaitable<void> require_repository();

 private:
  struct Result {
    int exit_code = -1;
    std::string output;             // captured when asked
    std::vector<std::string> tail;  // the run log's last lines: logged calls only
  };
  /// The commit HEAD names, "" when there is none.
  boost::asio::awaitable<std::string> head_commit();
  boost::asio::awaitable<Result> git(std::vector<std::string> args, bool log_output, bool capture,
                                     std::chrono::seconds timeout = std::chrono::seconds(120));

  std::filesystem::path work_tree_;
  bool bare_ = false;
  std::vector<std::string> env_;
  std::string user_;
  RunLog& log_;
  common::StopSignal& stop_;
  // Commits seen present in this repository (has_commit, is_ancestor): git does not delete
  // commits during a deploy, so each is asked about once.
  std::set<std::string> known_commits_;
};

}  // namespace deployer
