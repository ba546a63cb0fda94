// git_info.cpp: see git_info.hpp.
#include "deployctl/git_info.hpp"

#include <sstream>

#include "common/process.hpp"
#include "common/release_layout.hpp"
#include "common/validate.hpp"
#include "deployctl/commands.hpp"

namespace deployctl {
namespace {

using namespace std::chrono_literals;

// git with our environment plus no terminal prompt, in the deployment's working tree.
common::Command git(std::vector<std::string> args, const std::filesystem::path& cwd,
                    std::chrono::milliseconds timeout) {
  common::Command command;
  command.argv = {"git"};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  command.cwd = cwd;
  command.env = common::environment_with({
      {"GIT_TERMINAL_PROMPT", "0"},  // never wait for a password on a terminal
      {"GIT_ASKPASS", "true"},
      {"SSH_ASKPASS", "true"},
      {"LC_ALL", "C"},  // git's messages are quoted in our errors
  });
  command.timeout = timeout;
  command.kill_grace = std::chrono::seconds(1);
  return command;
}

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

}  // namespace

std::string remote_tip(const common::Deployment& deployment) {
  const std::string ref = "refs/heads/" + deployment.branch;
  const std::string what = "the tip of " + deployment.branch + " in " + deployment.remote;
  std::error_code ec;
  if (!std::filesystem::is_directory(deployment.path, ec)) {
    throw Failure("cannot find " + what + ": the deployment's path " + deployment.path.string() +
                  " does not exist (give --sha)");
  }
  // The remote was validated not to start with '-', so git cannot take it for an option.
  const auto result =
      common::run_captured(git({"ls-remote", deployment.remote, ref}, deployment.path, 30s));
  switch (result.outcome.ending) {
    case common::Ending::exited:
      if (result.outcome.exit_code == 0) break;
      throw Failure("cannot find " + what + ": git ls-remote failed: " + first_line(result.err));
    case common::Ending::timed_out:
      throw Failure("cannot find " + what + ": git ls-remote timed out after 30s");
    default:
      throw Failure("cannot find " + what + ": git ls-remote " + result.outcome.describe());
  }
  for (const auto& line : split(result.out, '\n')) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos || line.substr(tab + 1) != ref) continue;
    const std::string sha = line.substr(0, tab);
    if (common::valid_sha(sha)) return sha;
  }
  throw Failure("cannot find " + what + ": the remote has no branch " + deployment.branch);
}

CommitPresence commit_presence(const common::Deployment& deployment, const std::string& sha) {
  if (!common::valid_sha(sha)) return CommitPresence::absent;
  const std::filesystem::path copy =
      deployment.releases ? common::ReleaseLayout(deployment.path).repository() : deployment.path;
  std::error_code ec;
  if (!std::filesystem::is_directory(copy, ec)) return CommitPresence::unknown;
  const auto result = common::run_captured(git({"cat-file", "-e", sha + "^{commit}"}, copy, 10s));
  if (result.outcome.succeeded()) return CommitPresence::present;
  // Exit 128 with "Not a valid object name" (or 1): git looked and the commit is not there. Any
  // other ending (not a repository, a timeout) says nothing about the commit.
  const bool looked = result.outcome.ending == common::Ending::exited &&
                      (result.err.find("Not a valid object name") != std::string::npos ||
                       result.outcome.exit_code == 1);
  return looked ? CommitPresence::absent : CommitPresence::unknown;
}

std::optional<CommitInfo> commit_info(const common::Deployment& deployment,
                                      const std::string& sha) {
  if (!common::valid_sha(sha)) return std::nullopt;
  try {
    // %x00-separated fields; the message (%B) last since it may contain anything but NUL.
    const auto show = common::run_captured(
        git({"show", "-s", "--format=%T%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B", sha},
            deployment.path, 10s));
    if (!show.outcome.succeeded()) return std::nullopt;
    std::vector<std::string> fields;
    std::string::size_type start = 0;
    for (int i = 0; i < 7; ++i) {
      const auto end = show.out.find('\0', start);
      if (end == std::string::npos) return std::nullopt;
      fields.push_back(show.out.substr(start, end - start));
      start = end + 1;
    }
    CommitInfo info;
    info.tree = fields[0];
    info.parent = fields[1].substr(0, fields[1].find(' '));  // %P: parents, space-separated
    info.author_name = fields[2];
    info.author_email = fields[3];
    info.committer_name = fields[4];
    info.committer_email = fields[5];
    info.timestamp = fields[6];
    info.message = show.out.substr(start);
    while (!info.message.empty() && info.message.back() == '\n') info.message.pop_back();

    const auto diff = common::run_captured(
        git({"diff-tree", "-r", "--root", "--no-commit-id", "--name-status", "-z", sha},
            deployment.path, 10s));
    if (diff.outcome.succeeded()) {
      const auto parts = split(diff.out, '\0');
      for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
        const char status = parts[i].empty() ? ' ' : parts[i][0];
        // Renames and copies carry two paths; they are reported as an add (the new path).
        if (status == 'R' || status == 'C') {
          if (i + 2 < parts.size()) info.added.push_back(parts[i + 2]);
          info.removed.push_back(parts[i + 1]);
          ++i;
          continue;
        }
        auto& list = status == 'A' ? info.added : status == 'D' ? info.removed : info.modified;
        list.push_back(parts[i + 1]);
      }
    }
    return info;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace deployctl
