// git.cpp: see git.hpp.
#include "deployer/git.hpp"

#include <fstream>

#include "common/process.hpp"
#include "common/validate.hpp"
#include "deployer/errors.hpp"

namespace deployer {

namespace {
constexpr auto kFetchTimeout = std::chrono::seconds(600);
constexpr std::size_t kTailLines = 20;

std::vector<std::string> split_nul(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> to_vector(const std::deque<std::string>& lines) {
  return {lines.begin(), lines.end()};
}
}  // namespace

Git::Git(std::filesystem::path work_tree, std::vector<std::string> env, RunLog& log,
         common::StopSignal& stop, bool bare, std::string user)
    : work_tree_(std::move(work_tree)),
      bare_(bare),
      env_(std::move(env)),
      user_(std::move(user)),
      log_(log),
      stop_(stop) {
  env_.emplace_back("GIT_TERMINAL_PROMPT=0");
  env_.emplace_back("LC_ALL=C");
}

boost::asio::awaitable<Git::Result> Git::git(std::vector<std::string> args, bool log_output,
                                             bool capture, std::chrono::seconds timeout) {
  common::Command command;
  command.argv.reserve(args.size() + 1);
  command.argv.emplace_back("git");
  for (auto& a : args) command.argv.push_back(std::move(a));
  command.cwd = work_tree_;
  command.env = env_;
  command.timeout = timeout;
  command.user = user_;

  Result result;
  std::string shown = "git";
  for (std::size_t i = 1; i < command.argv.size(); ++i) shown += " " + command.argv[i];
  // Only logged calls touch the log's tail: an unlogged one (diff, merge-base) may run while a
  // logged one (checkout) is going on, and must not clear the lines that one's error would quote.
  if (log_output) {
    log_.note(shown);
    log_.clear_tail();
  }
  common::OutputSink sink = [&](std::string_view chunk) {
    if (capture) result.output.append(chunk);
    if (log_output) log_.output(chunk);
  };
  common::Outcome outcome = co_await common::run_command(command, sink, stop_);
  if (log_output) log_.end_output();
  if (outcome.ending == common::Ending::stopped) throw Stopped();
  if (outcome.ending == common::Ending::spawn_failed) {
    throw DeployFailure(shown, outcome.describe());
  }
  if (log_output) result.tail = to_vector(log_.tail());
  if (outcome.ending != common::Ending::exited) {
    throw DeployFailure(shown, outcome.describe(), std::nullopt, result.tail);
  }
  result.exit_code = outcome.exit_code;
  if (log_output && outcome.exit_code != 0) log_.note(shown + ": " + outcome.describe());
  co_return result;
}

boost::asio::awaitable<void> Git::require_repository() {
  std::error_code ec;
  if (!std::filesystem::is_directory(work_tree_, ec)) {
    throw DeployFailure("checkout", "deployment path " + work_tree_.string() +
                                        " does not exist (it must be a clone of the repository)");
  }
  // A look at the top of the work tree instead of a git process (each costs milliseconds before
  // the first step): a clone has .git there, a folder or (worktree, submodule) a file. A damaged
  // .git still fails the first git command, with git's own message in the run log.
  if (!std::filesystem::exists(work_tree_ / ".git", ec)) {
    throw DeployFailure("checkout", "deployment path " + work_tree_.string() +
                                        " is not a git working tree (it must be a clone)");
  }
  co_return;
}

boost::asio::awaitable<bool> Git::has_commit(const std::string& sha) {
  if (known_commits_.contains(sha)) co_return true;
  std::vector<std::string> args{"cat-file", "-e", sha + "^{commit}"};
  auto r = co_await git(std::move(args), false, false);
  if (r.exit_code == 0) known_commits_.insert(sha);
  co_return r.exit_code == 0;
}

boost::asio::awaitable<void> Git::fetch(const std::string& remote, const std::string& ref,
                                        const std::string& sha) {
  // A commit that is already here needs no fetch (a fetch is the slowest part of starting a
  // deploy): the exact commit is checked out either way, and a missing one is fetched below.
  if (co_await has_commit(sha)) {
    log_.note("commit " + sha + " is already present: not fetching");
    co_return;
  }
  if (bare_ && !ref.empty()) {
    // The store keeps the pushed ref itself: its history stays referenced (no gc takes it) and
    // one fetch brings the commit and its ancestors.
    std::vector<std::string> into_ref{"fetch", "--", remote, "+" + ref + ":" + ref};
    co_await git(std::move(into_ref), true, false, kFetchTimeout);
    if (co_await has_commit(sha)) co_return;
  }
  // "--" ends the options: the remote (configuration) and the ref (validated webhook value)
  // can never be read as options by git.
  std::vector<std::string> all{"fetch", "--prune", "--", remote};
  auto r = co_await git(std::move(all), true, false, kFetchTimeout);
  if (r.exit_code != 0) {
    if (co_await has_commit(sha)) {
      log_.note("fetch failed, but commit " + sha + " is already present: continuing with it");
      co_return;
    }
    // The remote could not be read (network, server): worth another try later.
    throw DeployFailure(
        "git fetch",
        "fetching from " + remote + " failed (exit status " + std::to_string(r.exit_code) + ")",
        r.exit_code, r.tail)
        .as_transient();
  }
  if (co_await has_commit(sha)) co_return;
  // A URL remote only brings its HEAD: ask for the pushed ref, then for the commit itself (which
  // GitHub serves even when no ref points at it any more).
  if (!ref.empty()) {
    std::vector<std::string> by_ref{"fetch", "--", remote, ref};
    co_await git(std::move(by_ref), true, false, kFetchTimeout);
    if (co_await has_commit(sha)) co_return;
  }
  std::vector<std::string> by_sha{"fetch", "--", remote, sha};
  co_await git(std::move(by_sha), true, false, kFetchTimeout);
  if (co_await has_commit(sha)) co_return;
  throw DeployFailure("git fetch",
                      "commit " + sha + " does not exist in " + remote + " after fetch");
}

boost::asio::awaitable<void> Git::ensure_store() {
  std::error_code ec;
  if (std::filesystem::exists(work_tree_ / "HEAD", ec)) co_return;
  std::filesystem::create_directories(work_tree_, ec);
  if (ec) {
    throw DeployFailure("git init", "cannot create " + work_tree_.string() + ": " + ec.message());
  }
  std::vector<std::string> args{"init", "--bare", "--quiet", "."};
  auto r = co_await git(std::move(args), true, false);
  if (r.exit_code != 0) {
    throw DeployFailure("git init", "git init --bare " + work_tree_.string() + " failed",
                        r.exit_code, r.tail);
  }
}

boost::asio::awaitable<std::string> Git::remote_tip(const std::string& remote,
                                                    const std::string& ref) {
  std::vector<std::string> args{"ls-remote", "--", remote, ref};
  auto r = co_await git(std::move(args), false, true, kFetchTimeout);
  if (r.exit_code != 0) {
    throw DeployFailure("git ls-remote",
                        "cannot read " + ref + " from " + remote + " (exit status " +
                            std::to_string(r.exit_code) + ")",
                        r.exit_code)
        .as_transient();
  }
  // "<sha>\t<ref>" lines; only the exact ref counts (ls-remote matches by suffix).
  std::size_t start = 0;
  while (start < r.output.size()) {
    auto end = r.output.find('\n', start);
    if (end == std::string::npos) end = r.output.size();
    const std::string line = r.output.substr(start, end - start);
    const auto tab = line.find('\t');
    if (tab != std::string::npos && line.substr(tab + 1) == ref &&
        common::valid_sha(line.substr(0, tab))) {
      co_return line.substr(0, tab);
    }
    start = end + 1;
  }
  co_return std::string();
}

boost::asio::awaitable<void> Git::checkout_into(const std::string& sha,
                                                const std::filesystem::path& dir) {
  // An index of its own beside the store's files: the release folder gets nothing but the
  // commit's tree, and two checkouts never share an index.
  const auto index = work_tree_ / "release-index";
  std::error_code ec;
  std::filesystem::remove(index, ec);
  const auto saved = env_;
  env_.push_back("GIT_INDEX_FILE=" + index.string());
  std::vector<std::string> args{
      "--work-tree=" + dir.string(), "checkout", "--force", sha, "--", "."};
  std::optional<Result> r;
  try {
    r = co_await git(std::move(args), true, false);
  } catch (...) {
    env_ = saved;
    throw;
  }
  env_ = saved;
  std::filesystem::remove(index, ec);
  if (r->exit_code != 0) {
    throw DeployFailure("git checkout",
                        "checking out " + sha + " into " + dir.string() + " failed (exit status " +
                            std::to_string(r->exit_code) + ")",
                        r->exit_code, r->tail);
  }
}

boost::asio::awaitable<std::optional<bool>> Git::is_ancestor(const std::string& ancestor,
                                                             const std::string& descendant) {
  std::vector<std::string> args{"merge-base", "--is-ancestor", ancestor, descendant};
  auto r = co_await git(std::move(args), false, false);
  if (r.exit_code == 0 || r.exit_code == 1) {
    // git answered: both are commits present here (spares changed_files a cat-file).
    known_commits_.insert(ancestor);
    known_commits_.insert(descendant);
  }
  if (r.exit_code == 0) co_return true;
  if (r.exit_code == 1) co_return false;
  co_return std::nullopt;
}

boost::asio::awaitable<std::vector<std::string>> Git::ancestors(const std::string& sha,
                                                                std::size_t limit) {
  // "--end-of-options": the sha (validated) can never be read as an option.
  std::vector<std::string> args{"rev-list", "--max-count=" + std::to_string(limit),
                                "--end-of-options", sha};
  auto r = co_await git(std::move(args), false, true);
  std::vector<std::string> out;
  if (r.exit_code != 0) co_return out;
  std::size_t start = 0;
  while (start < r.output.size()) {
    auto end = r.output.find('\n', start);
    if (end == std::string::npos) end = r.output.size();
    if (end > start) out.push_back(r.output.substr(start, end - start));
    start = end + 1;
  }
  co_return out;
}

boost::asio::awaitable<std::string> Git::commit_message(const std::string& sha) {
  std::vector<std::string> args{"log", "-1", "--format=%B", "--end-of-options", sha};
  auto r = co_await git(std::move(args), false, true);
  if (r.exit_code != 0) {
    throw DeployFailure("git log",
                        "reading the message of " + sha + " failed (exit status " +
                            std::to_string(r.exit_code) + ")",
                        r.exit_code);
  }
  co_return r.output;
}

boost::asio::awaitable<void> Git::checkout(const std::string& sha) {
  // --force: local edits to tracked files must not stop a deploy; the deployed tree is exactly
  // the commit. --detach: never "whatever the branch is now". The trailing "--" makes git take
  // the sha as a commit, never as a path.
  std::vector<std::string> args{
      "-c", "advice.detachedHead=false", "checkout", "--force", "--detach", sha, "--"};
  auto r = co_await git(std::move(args), true, false);
  if (r.exit_code != 0) {
    throw DeployFailure(
        "git checkout",
        "checking out " + sha + " failed (exit status " + std::to_string(r.exit_code) + ")",
        r.exit_code, r.tail);
  }
  auto head = co_await head_commit();
  if (head != sha) {
    throw DeployFailure("git checkout", "HEAD is " + head + " after checking out " + sha);
  }
}

boost::asio::awaitable<std::string> Git::head_commit() {
  // A detached HEAD is the file .git/HEAD holding the sha: read it without a process. Anything
  // else (.git a file as in a worktree, a reftable repository's placeholder HEAD) asks git.
  std::ifstream in(work_tree_ / ".git" / "HEAD");
  std::string line;
  if (in && std::getline(in, line) && common::valid_sha(line)) co_return line;
  std::vector<std::string> verify{"rev-parse", "--verify", "HEAD"};
  auto r = co_await git(std::move(verify), false, true);
  if (r.exit_code != 0) co_return std::string();
  co_return r.output.substr(0, r.output.find('\n'));
}

boost::asio::awaitable<std::vector<std::string>> Git::changed_files(const std::string& previous,
                                                                    const std::string& sha) {
  bool have_previous = !previous.empty() && co_await has_commit(previous);
  std::vector<std::string> args;
  if (have_previous) {
    // --no-renames: a renamed file counts under both names (the old path changed too).
    args = {"-c", "core.quotepath=off", "diff", "--name-only", "--no-renames", "-z", previous, sha,
            "--"};
  } else {
    if (!previous.empty()) {
      log_.note("previous commit " + previous +
                " is not in the repository: treating every tracked file as changed");
    }
    args = {"ls-tree", "-r", "--name-only", "-z", sha};
  }
  auto r = co_await git(std::move(args), false, true);
  if (r.exit_code != 0) {
    throw DeployFailure(
        "git diff",
        "listing changed files failed (exit status " + std::to_string(r.exit_code) + ")",
        r.exit_code);
  }
  co_return split_nul(r.output);
}

}  // namespace deployer
