// A local stand-in for the two GitHub REST endpoints the deployer polls while a push waits for
// its checks, over plain HTTP on 127.0.0.1 (github.api_url may be http://), with the response
// shapes GitHub documents:
//   GET /repos/{owner}/{repo}/commits/{ref}/check-runs  {"total_count", "check_runs": [{"id",
//       "head_sha", "name", "status", "conclusion", "check_suite": {"id"}, ...}]}
//   GET /repos/{owner}/{repo}/commits/{ref}/status      {"state", "sha", "total_count",
//       "statuses": [{"context", "state", "description", ...}], ...}
// The test sets the check runs and statuses of each commit; a commit with none answers
// total_count 0 (and combined state "pending", as GitHub does). fail_with(502) makes every
// request fail until fail_with(0). Every request is recorded. One request per connection.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test::deployer {

struct FakeCheckRun {
  std::string name;
  std::string status = "queued";  // queued, in_progress, completed
  std::string conclusion;         // "" (null) until completed: success, failure, cancelled, ...
};

struct FakeStatus {
  std::string context;
  std::string state = "pending";  // pending, success, failure, error
};

class FakeGitHub {
 public:
  FakeGitHub();
  ~FakeGitHub();
  FakeGitHub(const FakeGitHub&) = delete;
  FakeGitHub& operator=(const FakeGitHub&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Replaces the check runs / statuses of commit `sha`.
  void set_check_runs(const std::string& sha, std::vector<FakeCheckRun> runs);
  void set_statuses(const std::string& sha, std::vector<FakeStatus> statuses);
  /// Answers every request with this HTTP status (0: answer normally).
  void fail_with(unsigned status);

  /// The request targets received so far ("/repos/o/r/commits/<sha>/status").
  std::vector<std::string> targets() const;
  /// How many requests asked about `sha`.
  std::size_t requests_for(const std::string& sha) const;

 private:
  void serve();
  void handle(int fd);
  std::string answer(const std::string& target, unsigned& status);

  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<FakeCheckRun>> runs_;
  std::map<std::string, std::vector<FakeStatus>> statuses_;
  unsigned fail_status_ = 0;
  std::vector<std::string> targets_;
  std::thread thread_;
};

}  // namespace test::deployer
