// checks.hpp: what GitHub says about a commit's checks, for a deployment's wait_for_checks
// (docs/github.md "Deploy after CI passes").
//
// Two REST calls per look (GitHub's documented shapes): GET
// /repos/{owner}/{repo}/commits/{sha}/check-runs (check runs of every app: "status" queued,
// in_progress, completed; "conclusion" once completed; GitHub's default filter=latest keeps the
// newest run of each name) and GET /repos/{owner}/{repo}/commits/{sha}/status (the combined
// commit status: the latest status of each context). Check suites are never asked about: a
// suite that has no check runs (an app that never reports) is therefore ignored, not waited for.
// A combined status "pending" with total_count 0 means the commit has no status contexts at all,
// not that something runs.
//
// A check run passes with conclusion success, neutral or skipped; a status context with state
// success. Any other conclusion (failure, cancelled, timed_out, action_required, stale, ...) or
// a status failure/error fails. "all" waits for every check run and status context the commit
// has (none at all: nothing to wait for); a list waits for those names (a check run's name or a
// status's context), one not reported yet counting as pending. The deployer's own commit
// statuses ("deploy/<deployment>") never count.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/http_client.hpp"
#include "common/result.hpp"
#include "common/stop.hpp"

namespace deployer {

struct CheckVerdict {
  enum class State { passed, pending, failed };
  State state = State::pending;
  std::vector<std::string> pending;  ///< names still running or not reported yet, sorted
  std::string failed;                ///< the failing check's name (state failed)
  std::string conclusion;            ///< its conclusion or status state ("failure", "cancelled")
};

/// Judges the answers (see above): `check_runs` is the "check_runs" array (every page),
/// `statuses` the combined status's "statuses" array. `ignored` lists status contexts that never
/// count. Malformed elements (no name, no status) are skipped.
CheckVerdict judge_checks(const common::CheckWait& wait, const nlohmann::json& check_runs,
                          const nlohmann::json& statuses, const std::set<std::string>& ignored);

/// Where and how to ask.
struct ChecksApi {
  common::Url api;                   ///< github.api_url
  std::optional<std::string> token;  ///< sent as a Bearer token when set; never logged
  std::string repository;            ///< "owner/name"
};

/// Asks GitHub (both calls, following check-run pages up to 10 of 100) and judges. The error
/// says which call failed and how ("GET .../check-runs: HTTP 502", "... connect: Connection
/// refused", "... not JSON"): GitHub's API not answering is transient (retry.hpp).
boost::asio::awaitable<common::Result<CheckVerdict>> look_at_checks(
    const ChecksApi& api, const common::CheckWait& wait, const std::string& sha,
    const std::set<std::string>& ignored, common::StopSignal& stop);

}  // namespace deployer
