// checks.cpp: see checks.hpp.
#include "deployer/checks.hpp"

#include <algorithm>
#include <map>

namespace deployer {

namespace {

enum class One { passed, pending, failed };

struct Seen {
  One state = One::pending;
  std::string conclusion;
};

// Several reports under one name (check runs of two apps, a run and a status of the same name):
// a failure wins, then pending, then passed.
void note(std::map<std::string, Seen>& seen, const std::string& name, One state,
          const std::string& conclusion) {
  auto [it, inserted] = seen.try_emplace(name, Seen{state, conclusion});
  if (inserted) return;
  if (state == One::failed || (state == One::pending && it->second.state == One::passed)) {
    it->second = Seen{state, conclusion};
  }
}

std::string text_of(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

CheckVerdict judge_checks(const common::CheckWait& wait, const nlohmann::json& check_runs,
                          const nlohmann::json& statuses, const std::set<std::string>& ignored) {
  std::map<std::string, Seen> seen;
  if (check_runs.is_array()) {
    for (const auto& run : check_runs) {
      if (!run.is_object()) continue;
      const std::string name = text_of(run, "name");
      const std::string status = text_of(run, "status");
      if (name.empty() || status.empty()) continue;
      if (status != "completed") {
        note(seen, name, One::pending, status);
        continue;
      }
      const std::string conclusion = text_of(run, "conclusion");
      const bool good =
          conclusion == "success" || conclusion == "neutral" || conclusion == "skipped";
      note(seen, name, good ? One::passed : One::failed, conclusion);
    }
  }
  if (statuses.is_array()) {
    for (const auto& status : statuses) {
      if (!status.is_object()) continue;
      const std::string context = text_of(status, "context");
      const std::string state = text_of(status, "state");
      if (context.empty() || state.empty() || ignored.contains(context)) continue;
      const One one = state == "success"   ? One::passed
                      : state == "pending" ? One::pending
                                           : One::failed;
      note(seen, context, one, state);
    }
  }
  std::vector<std::string> required = wait.names;
  if (wait.all) {
    required.clear();
    for (const auto& [name, s] : seen) required.push_back(name);
  }
  CheckVerdict verdict;
  for (const auto& name : required) {
    const auto it = seen.find(name);
    if (it == seen.end() || it->second.state == One::pending) {
      verdict.pending.push_back(name);
    } else if (it->second.state == One::failed && verdict.failed.empty()) {
      verdict.failed = name;
      verdict.conclusion = it->second.conclusion;
    }
  }
  std::sort(verdict.pending.begin(), verdict.pending.end());
  verdict.state = !verdict.failed.empty()    ? CheckVerdict::State::failed
                  : !verdict.pending.empty() ? CheckVerdict::State::pending
                                             : CheckVerdict::State::passed;
  return verdict;
}

namespace {

boost::asio::awaitable<common::Result<nlohmann::json>> get_json(const ChecksApi& api,
                                                                const std::string& target,
                                                                common::StopSignal& stop) {
  common::HttpRequest request;
  request.method = "GET";
  request.url = api.api;
  request.target = target;
  request.headers = {{"Accept", "application/vnd.github+json"},
                     {"X-GitHub-Api-Version", "2022-11-28"}};
  if (api.token) request.headers.emplace_back("Authorization", "Bearer " + *api.token);
  request.timeout = std::chrono::seconds(10);
  request.max_body = 4 * 1024 * 1024;  // 100 check runs with their output summaries
  auto response = co_await common::http_request(request, stop);
  const std::string what = "GET " + target;
  if (!response.ok()) co_return common::Error{what + ": " + response.error().message};
  if (response->status != 200) {
    co_return common::Error{what + ": HTTP " + std::to_string(response->status)};
  }
  if (response->truncated) co_return common::Error{what + ": answer too large"};
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) co_return common::Error{what + ": not JSON"};
  co_return body;
}

}  // namespace

boost::asio::awaitable<common::Result<CheckVerdict>> look_at_checks(
    const ChecksApi& api, const common::CheckWait& wait, const std::string& sha,
    const std::set<std::string>& ignored, common::StopSignal& stop) {
  const std::string base = "/repos/" + api.repository + "/commits/" + sha;
  nlohmann::json runs = nlohmann::json::array();
  // Bounded: at most 10 pages of 100 check runs.
  for (int page = 1; page <= 10; ++page) {
    auto body = co_await get_json(
        api, base + "/check-runs?per_page=100&page=" + std::to_string(page), stop);
    if (!body.ok()) co_return body.error();
    const auto& list = body->contains("check_runs") ? (*body)["check_runs"] : nlohmann::json();
    if (!list.is_array()) co_return common::Error{"GET " + base + "/check-runs: no check_runs"};
    for (const auto& run : list) runs.push_back(run);
    // Answers are not trusted to have the documented types (value() would throw).
    const auto total_it = body->find("total_count");
    const std::size_t total = total_it != body->end() && total_it->is_number_unsigned()
                                  ? total_it->get<std::size_t>()
                                  : 0;
    if (list.empty() || runs.size() >= total) break;
  }
  auto combined = co_await get_json(api, base + "/status?per_page=100", stop);
  if (!combined.ok()) co_return combined.error();
  // "pending" with total_count 0: no status contexts at all; the empty list says just that.
  const auto& statuses =
      combined->contains("statuses") ? (*combined)["statuses"] : nlohmann::json::array();
  co_return judge_checks(wait, runs, statuses, ignored);
}

}  // namespace deployer
