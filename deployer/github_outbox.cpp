// github_outbox.cpp: see github_outbox.hpp.
#include "deployer/github_outbox.hpp"

#include "common/http_client.hpp"
#include "common/json_parse.hpp"
#include "common/log.hpp"
#include "common/outbox.hpp"
#include "common/secrets.hpp"

namespace deployer {

namespace {

constexpr auto kAttemptTimeout = std::chrono::seconds(10);

bool retryable(unsigned status) {
  return status >= 500 || status == 408 || status == 429;
}

common::HttpRequest github_post(const common::Url& api, const std::string& token,
                                std::string target, const nlohmann::json& body) {
  common::HttpRequest request;
  request.method = "POST";
  request.url = api;
  request.target = std::move(target);
  request.headers = {
      {"Authorization", "Bearer " + token},
      {"Accept", "application/vnd.github+json"},
      {"Content-Type", "application/json"},
      {"X-GitHub-Api-Version", "2022-11-28"},
  };
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.timeout = kAttemptTimeout;
  request.max_body = 64 * 1024;  // a created deployment is about 2 KB
  return request;
}

// The attempt's outcome for an answer that is not a 2xx (or no answer at all).
Attempt failed(const common::Result<common::HttpResponse>& reply, const std::string& what) {
  Attempt attempt;
  if (!reply.ok()) {
    attempt.problem = what + ": " + reply.error().message;
    return attempt;  // retry
  }
  attempt.status = reply->status;
  attempt.problem = what + ": HTTP " + std::to_string(reply->status);
  if (!retryable(reply->status)) attempt.outcome = Attempt::Outcome::dropped;
  return attempt;
}

bool ok(const common::Result<common::HttpResponse>& reply) {
  return reply.ok() && reply->status >= 200 && reply->status < 300;
}

}  // namespace

bool is_github_item(const nlohmann::json& item) {
  if (!item.is_object()) return false;
  const auto github = item.find("github");
  if (github == item.end() || !github->is_object()) return false;
  const auto field = [&](const char* name, bool object) {
    const auto it = github->find(name);
    return it != github->end() && (object ? it->is_object() : it->is_string());
  };
  return field("repository", false) && field("key", false) && field("status", true) &&
         (!github->contains("create") || field("create", true));
}

boost::asio::awaitable<Attempt> send_github_item(const common::Config& config,
                                                 const std::filesystem::path& outbox,
                                                 const nlohmann::json& item,
                                                 common::StopSignal& stop) {
  const auto& github = item.at("github");
  const std::string repository = github.at("repository").get<std::string>();
  const std::string key = github.at("key").get<std::string>();
  Attempt attempt;
  std::optional<std::string> token;
  try {
    token = common::github_token(config);
  } catch (const std::exception& e) {
    attempt.problem = e.what();  // an unreadable token file: kept until it is readable
    co_return attempt;
  }
  if (!token) {
    attempt.problem = "no GitHub token configured";
    co_return attempt;
  }
  auto api = common::parse_url(config.github.api_url);
  if (!api.ok()) {
    attempt.problem = "github.api_url: " + api.error().message;
    co_return attempt;
  }
  auto id = common::read_github_id(outbox, key);
  if (!id) {
    if (!github.contains("create")) {
      attempt.outcome = Attempt::Outcome::dropped;
      attempt.problem = "no GitHub deployment was created for this deploy";
      co_return attempt;
    }
    auto request =
        github_post(*api, *token, "/repos/" + repository + "/deployments", github.at("create"));
    auto reply = co_await common::http_request(request, stop);
    // 201 is the created deployment; 202 ("auto-merged ...") cannot come with auto_merge false
    // and carries no id: refused like any other answer without one.
    if (!ok(reply) || reply->status != 201) co_return failed(reply, "create deployment");
    auto parsed = common::parse_json(reply->body);
    if (parsed.ok() && parsed->is_object() && parsed->contains("id") &&
        (*parsed)["id"].is_number_integer()) {
      id = (*parsed)["id"].get<std::int64_t>();
    }
    if (!id || *id <= 0) {
      attempt.outcome = Attempt::Outcome::dropped;
      attempt.status = reply->status;
      attempt.problem = "create deployment: HTTP 201 without a deployment id";
      co_return attempt;
    }
    if (auto ec = common::store_github_id(outbox, key, *id)) {
      // Kept and tried again: the deployment exists, but without its id recorded a restart
      // would create a second one. Logged by the drain.
      attempt.problem =
          "cannot record GitHub deployment id " + std::to_string(*id) + ": " + ec.message();
      co_return attempt;
    }
    common::log::info("GitHub deployment created",
                      {{"entry", key}, {"repository", repository}, {"github_id", *id}});
  }
  auto request = github_post(
      *api, *token, "/repos/" + repository + "/deployments/" + std::to_string(*id) + "/statuses",
      github.at("status"));
  auto reply = co_await common::http_request(request, stop);
  if (!ok(reply)) co_return failed(reply, "deployment status");
  attempt.outcome = Attempt::Outcome::delivered;
  attempt.status = reply->status;
  co_return attempt;
}

}  // namespace deployer
