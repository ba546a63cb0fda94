// The fake GitHub checks API; see fake_github.hpp.
#include "tests/deployer/fake_github.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

namespace test::deployer {

FakeGitHub::FakeGitHub() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listen_fd_);
    throw std::system_error(errno, std::generic_category(), "bind/listen");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeGitHub::~FakeGitHub() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void FakeGitHub::set_check_runs(const std::string& sha, std::vector<FakeCheckRun> runs) {
  std::lock_guard lock(mutex_);
  runs_[sha] = std::move(runs);
}

void FakeGitHub::set_statuses(const std::string& sha, std::vector<FakeStatus> statuses) {
  std::lock_guard lock(mutex_);
  statuses_[sha] = std::move(statuses);
}

void FakeGitHub::fail_with(unsigned status) {
  std::lock_guard lock(mutex_);
  fail_status_ = status;
}

std::vector<std::string> FakeGitHub::targets() const {
  std::lock_guard lock(mutex_);
  return targets_;
}

std::size_t FakeGitHub::requests_for(const std::string& sha) const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& target : targets_) count += target.find("/" + sha + "/") != std::string::npos;
  return count;
}

void FakeGitHub::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    handle(fd);
    ::close(fd);
  }
}

// GET requests only: the head ends the request.
void FakeGitHub::handle(int fd) {
  std::string data;
  char buffer[4096];
  while (data.find("\r\n\r\n") == std::string::npos && data.size() < 65536) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  const auto line_end = data.find("\r\n");
  const std::string line = data.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 + 1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  unsigned status = 200;
  const std::string body = answer(target, status);
  const std::string response = "HTTP/1.1 " + std::to_string(status) +
                               (status == 200 ? " OK" : " Error") +
                               "\r\nContent-Type: application/json; charset=utf-8"
                               "\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::size_t sent = 0;
  while (sent < response.size()) {
    const ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string FakeGitHub::answer(const std::string& target, unsigned& status) {
  std::lock_guard lock(mutex_);
  targets_.push_back(target);
  if (fail_status_ != 0) {
    status = fail_status_;
    return R"({"message":"Server Error"})";
  }
  // /repos/{owner}/{repo}/commits/{sha}/(check-runs|status)[?query]
  const std::string path = target.substr(0, target.find('?'));
  const auto commits = path.find("/commits/");
  if (!path.starts_with("/repos/") || commits == std::string::npos) {
    status = 404;
    return R"({"message":"Not Found","documentation_url":"https://docs.github.com/rest"})";
  }
  const auto slash = path.find('/', commits + 9);
  const std::string sha = path.substr(commits + 9, slash - commits - 9);
  const std::string what = slash == std::string::npos ? "" : path.substr(slash + 1);
  using nlohmann::json;
  if (what == "check-runs") {
    json list = json::array();
    int id = 1;
    for (const auto& run : runs_[sha]) {
      list.push_back({{"id", id},
                      {"head_sha", sha},
                      {"node_id", "CR_" + std::to_string(id)},
                      {"external_id", ""},
                      {"name", run.name},
                      {"status", run.status},
                      {"conclusion", run.conclusion.empty() ? json(nullptr) : json(run.conclusion)},
                      {"started_at", "2026-12-06T04:00:00Z"},
                      {"completed_at",
                       run.status == "completed" ? json("2026-12-06T04:01:00Z") : json(nullptr)},
                      {"check_suite", {{"id", 100 + id}}},
                      {"app", {{"id", 15368}, {"slug", "github-actions"}}},
                      {"pull_requests", json::array()}});
      ++id;
    }
    return json{{"total_count", list.size()}, {"check_runs", list}}.dump();
  }
  if (what == "status") {
    json list = json::array();
    std::string combined = "success";
    for (const auto& s : statuses_[sha]) {
      list.push_back({{"id", 1},
                      {"node_id", "SC_1"},
                      {"state", s.state},
                      {"description", "CI"},
                      {"target_url", nullptr},
                      {"context", s.context},
                      {"created_at", "2026-12-06T04:00:00Z"},
                      {"updated_at", "2026-12-06T04:00:00Z"}});
      if (s.state == "failure" || s.state == "error") {
        combined = "failure";
      } else if (s.state == "pending" && combined != "failure") {
        combined = "pending";
      }
    }
    // GitHub: "pending if there are no statuses".
    if (list.empty()) combined = "pending";
    return json{{"state", combined},
                {"statuses", list},
                {"sha", sha},
                {"total_count", list.size()},
                {"repository", {{"full_name", "example/app"}}},
                {"commit_url", "http://127.0.0.1/repos/example/app/commits/" + sha},
                {"url", "http://127.0.0.1/repos/example/app/commits/" + sha + "/status"}}
        .dump();
  }
  status = 404;
  return R"({"message":"Not Found"})";
}

}  // namespace test::deployer
