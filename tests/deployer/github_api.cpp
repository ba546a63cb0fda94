// github_api.cpp: see github_api.hpp.
#include "tests/deployer/github_api.hpp"

#include <algorithm>

namespace test::deployer {

namespace {

using nlohmann::json;

const std::string kDocs = "https://docs.github.com/rest";
constexpr std::int64_t kFirstDeployment = 1001;

NotifyServer::Reply error(unsigned status, const std::string& message) {
  return {status, json{{"message", message}, {"documentation_url", kDocs}}.dump()};
}

NotifyServer::Reply validation_failed(const std::string& resource, const std::string& field) {
  return {422,
          json{{"message", "Validation Failed"},
               {"errors",
                json::array({{{"resource", resource}, {"field", field}, {"code", "invalid"}}})},
               {"documentation_url", kDocs}}
              .dump()};
}

const json kCreator = {{"login", "deployer-bot"}, {"id", 1}, {"type", "Bot"}};
const std::string kTime = "2026-12-06T04:05:06Z";

}  // namespace

GitHubApi::GitHubApi(unsigned short port, std::string token)
    : token_(std::move(token)), server_(port, "") {
  server_.respond_with([this](const Notified& request) { return respond(request); });
}

void GitHubApi::fail_next(int count, unsigned status, Kind kind) {
  std::lock_guard lock(mutex_);
  failures_.push_back({kind, {count, status}});
}

void GitHubApi::clear_failures() {
  std::lock_guard lock(mutex_);
  failures_.clear();
}

std::vector<json> GitHubApi::deployments() const {
  std::lock_guard lock(mutex_);
  return deployments_;
}

std::int64_t GitHubApi::deployment_for(const std::string& sha) const {
  std::lock_guard lock(mutex_);
  std::int64_t id = 0;
  for (std::size_t i = 0; i < deployments_.size(); ++i) {
    if (deployments_[i]["ref"] == sha) id = kFirstDeployment + static_cast<std::int64_t>(i);
  }
  return id;
}

std::vector<json> GitHubApi::statuses(std::int64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = statuses_.find(id);
  return it == statuses_.end() ? std::vector<json>{} : it->second;
}

std::vector<std::string> GitHubApi::states(std::int64_t id) const {
  std::vector<std::string> out;
  for (const auto& status : statuses(id)) out.push_back(status.value("state", "?"));
  return out;
}

std::vector<json> GitHubApi::commit_statuses() const {
  std::lock_guard lock(mutex_);
  return commit_statuses_;
}

NotifyServer::Reply GitHubApi::respond(const Notified& request) {
  // "/repos/{o}/{r}/deployments", ".../deployments/{id}/statuses", ".../statuses/{sha}".
  std::vector<std::string> parts;
  for (std::size_t at = 1; at <= request.target.size();) {
    const auto slash = std::min(request.target.find('/', at), request.target.size());
    parts.push_back(request.target.substr(at, slash - at));
    at = slash + 1;
  }
  Kind kind = Kind::any;
  std::string id_or_sha;
  const bool repo = parts.size() >= 4 && parts[0] == "repos";
  if (repo && parts.size() == 4 && parts[3] == "deployments") {
    kind = Kind::create;
  } else if (repo && parts.size() == 6 && parts[3] == "deployments" && parts[5] == "statuses" &&
             !parts[4].empty() && parts[4].find_first_not_of("0123456789") == std::string::npos) {
    kind = Kind::deployment_status;
    id_or_sha = parts[4];
  } else if (repo && parts.size() == 5 && parts[3] == "statuses" && parts[4].size() == 40 &&
             parts[4].find_first_not_of("0123456789abcdef") == std::string::npos) {
    kind = Kind::commit_status;
    id_or_sha = parts[4];
  }
  std::lock_guard lock(mutex_);
  for (auto& [which, failure] : failures_) {
    if (failure.first > 0 && (which == Kind::any || which == kind)) {
      --failure.first;
      return error(failure.second, failure.second == 502 ? "Server Error" : "Injected failure");
    }
  }
  if (request.method != "POST" || kind == Kind::any) return error(404, "Not Found");
  auto auth = request.headers.find("authorization");
  if (auth == request.headers.end() || auth->second != "Bearer " + token_) {
    return error(401, "Bad credentials");
  }
  json body;
  try {
    body = json::parse(request.body);
  } catch (const std::exception&) {
    return error(400, "Problems parsing JSON");
  }
  const std::string repo_url = url() + "/repos/" + parts[1] + "/" + parts[2];
  if (kind == Kind::create) {
    if (!body.contains("ref") || !body["ref"].is_string()) {
      return validation_failed("Deployment", "ref");
    }
    const std::int64_t id = kFirstDeployment + static_cast<std::int64_t>(deployments_.size());
    deployments_.push_back(body);
    const std::string environment = body.value("environment", "production");
    const json created = {
        {"url", repo_url + "/deployments/" + std::to_string(id)},
        {"id", id},
        {"node_id", "MDEwOkRlcGxveW1lbnQx"},
        {"sha", body["ref"]},
        {"ref", body["ref"]},
        {"task", body.value("task", "deploy")},
        {"payload", body.value("payload", json::object())},
        {"original_environment", environment},
        {"environment", environment},
        {"description", body.value("description", "")},
        {"creator", kCreator},
        {"created_at", kTime},
        {"updated_at", kTime},
        {"statuses_url", repo_url + "/deployments/" + std::to_string(id) + "/statuses"},
        {"repository_url", repo_url},
        {"transient_environment", body.value("transient_environment", false)},
        {"production_environment", environment == "production"},
    };
    return {201, created.dump()};
  }
  static const std::vector<std::string> deployment_states{
      "error", "failure", "inactive", "in_progress", "queued", "pending", "success"};
  if (kind == Kind::deployment_status) {
    const std::int64_t id = std::stoll(id_or_sha);
    if (id < kFirstDeployment ||
        id >= kFirstDeployment + static_cast<std::int64_t>(deployments_.size())) {
      return error(404, "Not Found");
    }
    if (!body.contains("state") || !body["state"].is_string() ||
        std::find(deployment_states.begin(), deployment_states.end(), body["state"]) ==
            deployment_states.end()) {
      return validation_failed("DeploymentStatus", "state");
    }
    if (body.value("description", "").size() > 140) {
      return validation_failed("DeploymentStatus", "description");
    }
    statuses_[id].push_back(body);
    const json created = {
        {"url", repo_url + "/deployments/" + std::to_string(id) + "/statuses/" +
                    std::to_string(next_status_id_)},
        {"id", next_status_id_++},
        {"node_id", "MDE2OkRlcGxveW1lbnRTdGF0dXMx"},
        {"state", body["state"]},
        {"creator", kCreator},
        {"description", body.value("description", "")},
        {"environment", body.value("environment", "")},
        {"target_url", body.value("log_url", "")},
        {"created_at", kTime},
        {"updated_at", kTime},
        {"deployment_url", repo_url + "/deployments/" + std::to_string(id)},
        {"repository_url", repo_url},
        {"environment_url", body.value("environment_url", "")},
        {"log_url", body.value("log_url", "")},
    };
    return {201, created.dump()};
  }
  static const std::vector<std::string> commit_states{"error", "failure", "pending", "success"};
  if (!body.contains("state") || !body["state"].is_string() ||
      std::find(commit_states.begin(), commit_states.end(), body["state"]) == commit_states.end()) {
    return validation_failed("Status", "state");
  }
  body["sha"] = id_or_sha;
  commit_statuses_.push_back(body);
  json created = {{"url", repo_url + "/statuses/" + id_or_sha},
                  {"id", next_status_id_++},
                  {"state", body["state"]},
                  {"description", body.value("description", "")},
                  {"target_url", body.value("target_url", "")},
                  {"context", body.value("context", "default")},
                  {"created_at", kTime},
                  {"updated_at", kTime},
                  {"creator", kCreator}};
  return {201, created.dump()};
}

}  // namespace test::deployer
