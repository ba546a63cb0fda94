// A local stand-in for the few GitHub REST endpoints the deployer uses, with GitHub's documented
// request and response shapes ("Create a deployment", "Create a deployment status", "Create a
// commit status"), over plain HTTP on loopback (github.api_url may be http:// for a loopback
// host). It checks the bearer token and the request bodies as GitHub does (401 "Bad credentials",
// 422 "Validation Failed", 404 "Not Found" for an unknown deployment), records every request, and
// fails on demand: the next N requests of a kind answer 502 (or any status) with GitHub's error
// body. Built on NotifyServer's loopback listener.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/deployer/notify_server.hpp"

namespace test::deployer {

class GitHubApi {
 public:
  enum class Kind { any, create, deployment_status, commit_status };

  GitHubApi(unsigned short port, std::string token);
  void start() { server_.start(); }
  void stop() { server_.stop(); }
  /// "http://127.0.0.1:<port>", for github.api_url.
  std::string url() const { return server_.url(""); }

  /// The next `count` requests of `kind` are answered `status` instead of being served.
  void fail_next(int count, unsigned status = 502, Kind kind = Kind::any);
  /// Forgets the failures still to come.
  void clear_failures();

  /// Every request received, failed ones included.
  std::vector<Notified> requests() const { return server_.received(); }
  /// Created deployments (the create bodies), in order; their ids are 1001, 1002, ...
  std::vector<nlohmann::json> deployments() const;
  /// The id of the deployment created for commit `sha` (0 when none; the last when several).
  std::int64_t deployment_for(const std::string& sha) const;
  /// The statuses accepted for deployment `id`, in order (their request bodies).
  std::vector<nlohmann::json> statuses(std::int64_t id) const;
  /// Just the states of statuses(id): {"queued", "in_progress", "success"}.
  std::vector<std::string> states(std::int64_t id) const;
  /// Accepted commit statuses (request bodies), in order, with "sha" added.
  std::vector<nlohmann::json> commit_statuses() const;

 private:
  NotifyServer::Reply respond(const Notified& request);

  std::string token_;
  mutable std::mutex mutex_;
  std::vector<std::pair<Kind, std::pair<int, unsigned>>> failures_;  // kind -> (count, status)
  std::vector<nlohmann::json> deployments_;
  std::map<std::int64_t, std::vector<nlohmann::json>> statuses_;
  std::vector<nlohmann::json> commit_statuses_;
  std::int64_t next_status_id_ = 5001;
  NotifyServer server_;  // last: its thread calls respond(), so it stops before the rest goes
};

}  // namespace test::deployer
