// The ledger's records of a deployment on three hosts after a rollout that failed, written
// through the ledger's own calls (ledger::Ledger, ledger::Rollouts) as the deployers write them,
// for the tests of what deployctl status and the dashboard show per host.
#pragma once

#include <string>
#include <vector>

namespace fleet_test {

inline const std::vector<std::string> kHosts = {"web1", "web2", "web3"};

/// The commit every host deployed first, and the one whose rollout failed.
std::string old_sha();
std::string new_sha();
/// The entry of the failed rollout.
inline constexpr const char* kRolloutEntry = "00000000000000000002-d2.json";
/// The error of web2's health check.
inline constexpr const char* kHealthError = "health check http://127.0.0.1:3002/up answered 500";

/// `host`'s release of old_sha() (release names differ per host).
std::string old_release(const std::string& host);

/// In the migrated database `url`, for deployment `deployment` on kHosts (ledger names
/// "<deployment>@<host>"): each host's succeeded run of old_sha() with its release deployed;
/// then the rollout of new_sha(): all built, web1 switched and live, web2's health check failed,
/// web1 rolled back, web3 never switched; each host's run of it failed.
void seed_failed_rollout(const std::string& url, const std::string& deployment);

}  // namespace fleet_test
