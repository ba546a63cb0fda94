// staleness.cpp: see staleness.hpp.
#include "deployer/staleness.hpp"

#include "deployer/errors.hpp"

namespace deployer {

namespace {

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 7);
}

}  // namespace

boost::asio::awaitable<Judgement> judge_push(Git& git, const std::string& remote,
                                             const common::Push& push, bool webhook,
                                             const ledger::DeployedState& deployed) {
  Judgement judgement;
  const std::string& sha = push.after;
  if (!webhook) {
    if (deployed.sha && *deployed.sha != sha &&
        (co_await git.is_ancestor(sha, *deployed.sha)).value_or(false)) {
      judgement.rollback_high_water = deployed.high_water_sha.value_or(*deployed.sha);
    }
    co_return judgement;
  }
  if (!push.is_tag()) {
    const std::string tip = co_await git.remote_tip(remote, push.ref);
    if (tip.empty()) {
      judgement.deploy = false;
      judgement.reason = push.ref + " no longer exists in the remote";
      co_return judgement;
    }
    if (tip != sha) {
      if (!co_await git.has_commit(tip)) co_await git.fetch(remote, push.ref, tip);
      if (!(co_await git.is_ancestor(sha, tip)).value_or(false)) {
        judgement.deploy = false;
        judgement.reason = "commit " + short_sha(sha) + " is not on " + push.ref + " (its tip is " +
                           short_sha(tip) + ")";
        co_return judgement;
      }
    }
  }
  if (deployed.high_water_sha) {
    const std::string& mark = *deployed.high_water_sha;
    const bool descendant = mark != sha && (co_await git.is_ancestor(mark, sha)).value_or(false);
    if (!descendant) {
      judgement.deploy = false;
      judgement.reason = "commit " + short_sha(sha) + " is not newer than " + short_sha(mark) +
                         ", which an operator rolled back from (only its descendants deploy)";
      co_return judgement;
    }
    co_return judgement;
  }
  if (deployed.sha) {
    const std::string& current = *deployed.sha;
    if (current == sha || (co_await git.is_ancestor(sha, current)).value_or(false)) {
      judgement.deploy = false;
      judgement.reason = "commit " + short_sha(sha) +
                         (current == sha ? " is" : " is an ancestor of") + " the deployed commit " +
                         short_sha(current);
    }
  }
  co_return judgement;
}

}  // namespace deployer
