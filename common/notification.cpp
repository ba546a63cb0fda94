// notification.cpp: see notification.hpp.
#include "common/notification.hpp"

#include <algorithm>
#include <cstdio>

#include "common/secrets.hpp"
#include "common/signature.hpp"

namespace common {

namespace {

std::string seconds_text(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  return buffer;
}

std::string outcome_words(std::string_view outcome) {
  if (outcome == "failed") return "deploy failed";
  if (outcome == "rolled_back") return "deploy rolled back";
  if (outcome == "succeeded") return "deployed";
  if (outcome == "waiting") return "waiting for checks";
  if (outcome == "recovered") return "deployed again after a failure";
  if (outcome == "test") return "test notification";
  return std::string(outcome);
}

// Step output can hold invalid UTF-8: replace it rather than fail the dump.
std::string dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string run_page_url(const Config& config, std::int64_t run) {
  if (config.dashboard.public_url.empty()) return "";
  return config.dashboard.public_url + "/runs/" + std::to_string(run);
}

bool notification_wants(const Notification& notification, std::string_view deployment,
                        std::string_view outcome) {
  if (!notification.deployments.empty() &&
      std::find(notification.deployments.begin(), notification.deployments.end(), deployment) ==
          notification.deployments.end()) {
    return false;
  }
  auto has = [&](std::string_view wanted) {
    return std::find(notification.on.begin(), notification.on.end(), wanted) !=
           notification.on.end();
  };
  return has(outcome) || (outcome == "recovered" && has("succeeded"));
}

std::string notification_text(const NotificationMessage& message) {
  std::string text = message.deployment + ": " + outcome_words(message.outcome);
  if (!message.sha.empty()) {
    text += ": " + message.sha.substr(0, 7);
    if (!message.subject.empty()) text += " \"" + message.subject + "\"";
    if (!message.author.empty()) text += " by " + message.author;
  }
  if (message.outcome != "test" && message.outcome != "waiting") {
    text += " (" + seconds_text(message.duration_s) + ")";
  }
  if (!message.error.empty()) text += ": " + message.error;
  if (!message.log_url.empty()) text += " " + message.log_url;
  return text;
}

nlohmann::json to_json(const NotificationMessage& message) {
  return {{"deployment", message.deployment},
          {"outcome", message.outcome},
          {"sha", message.sha},
          {"subject", message.subject},
          {"author", message.author},
          {"duration_s", message.duration_s},
          {"error", message.error},
          {"log_url", message.log_url}};
}

NotificationMessage notification_message_from_json(const nlohmann::json& json) {
  NotificationMessage message;
  auto text = [&](const char* key) {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  message.deployment = text("deployment");
  message.outcome = text("outcome");
  message.sha = text("sha");
  message.subject = text("subject");
  message.author = text("author");
  message.error = text("error");
  message.log_url = text("log_url");
  if (auto it = json.find("duration_s"); it != json.end() && it->is_number()) {
    message.duration_s = it->get<double>();
  }
  return message;
}

std::string render_notification(Notification::Type type, const NotificationMessage& message) {
  switch (type) {
    case Notification::Type::slack:
      return dump({{"text", notification_text(message)}});
    case Notification::Type::discord:
      // Discord refuses content over 2000 characters.
      return dump({{"content", notification_text(message).substr(0, 2000)}});
    case Notification::Type::webhook: {
      auto body = to_json(message);
      body["text"] = notification_text(message);
      return dump(body);
    }
  }
  return "{}";
}

std::vector<std::pair<std::string, std::string>> notification_headers(
    Notification::Type type, std::string_view body, const std::optional<std::string>& secret) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (type == Notification::Type::webhook) {
    headers.emplace_back("X-Deployer-Event", "deploy");
    // The same construction as GitHub's X-Hub-Signature-256, so receivers can reuse their code.
    headers.emplace_back("X-Deployer-Signature-256", github_signature(secret.value_or(""), body));
  }
  return headers;
}

Result<HttpRequest> notification_request(const Notification& notification, std::string body) {
  std::optional<std::string> url_text;
  std::optional<std::string> secret;
  try {
    url_text = read_secret(notification.url);
    if (notification.secret) secret = read_secret(*notification.secret);
  } catch (const SecretError& e) {
    return Error{e.what()};
  }
  if (!url_text) return Error{"url: " + notification.url.describe() + " is not set"};
  if (notification.secret && !secret) {
    return Error{"secret: " + notification.secret->describe() + " is not set"};
  }
  auto url = parse_url(*url_text);
  if (!url.ok()) return Error{"url (" + notification.url.describe() + ") " + url.error().message};
  HttpRequest request;
  request.method = "POST";
  request.url = std::move(url.value());
  request.target = request.url.path.empty() ? "/" : "";
  request.headers = notification_headers(notification.type, body, secret);
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("User-Agent", "deployer-notify");
  request.body = std::move(body);
  request.max_body = 4096;
  return request;
}

}  // namespace common
