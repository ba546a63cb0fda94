// notification.hpp: what a notification says and how it is sent (docs/notifications.md). No I/O
// but notification_request's reading of the URL and secret sources; no clock.
//
// A Message is one deploy outcome of one deployment. render_body() gives the exact bytes POSTed:
// Slack's {"text": ...}, Discord's {"content": ...}, or for type "webhook" a JSON object with
// every field, which request_headers() signs like GitHub signs its webhooks
// (X-Deployer-Signature-256: sha256=<lowercase hex HMAC-SHA256 of the raw body>).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/http_client.hpp"
#include "common/result.hpp"

namespace common {

struct NotificationMessage {
  std::string deployment;
  std::string outcome;  ///< failed, rolled_back, succeeded, waiting, recovered, test
  std::string sha;      ///< full sha ("" when unknown)
  std::string subject;  ///< the first line of the commit message ("" when unknown)
  std::string author;   ///< the commit's author ("" when unknown)
  double duration_s = 0;
  std::string error;    ///< why it failed, "" otherwise
  std::string log_url;  ///< the run's page when a public URL is configured, else ""
};

/// The dashboard's page of ledger run `run` ("<dashboard.public_url>/runs/<run>"), or "" when
/// dashboard.public_url is not set.
std::string run_page_url(const Config& config, std::int64_t run);

/// True when `notification` wants `outcome` of `deployment`: its "deployments" (all when empty)
/// lists the deployment, and its "on" lists the outcome. A "recovered" message (a success after
/// a failure) also goes to notifications that ask for "succeeded" only.
bool notification_wants(const Notification& notification, std::string_view deployment,
                        std::string_view outcome);

/// One line for people: "durhack: deploy failed: 1a2b3c4 "Fix login" by Ada (12.3 s): <error>
/// <log>".
std::string notification_text(const NotificationMessage& message);

/// The raw JSON body to POST for `type`.
std::string render_notification(Notification::Type type, const NotificationMessage& message);

/// The request headers for a body: for type webhook, X-Deployer-Signature-256 computed with
/// `secret` (required there), and X-Deployer-Event: deploy.
std::vector<std::pair<std::string, std::string>> notification_headers(
    Notification::Type type, std::string_view body, const std::optional<std::string>& secret);

/// The POST of `body` to `notification`, its URL and secret read now (secrets.hpp). The error
/// names the source that is unset or unreadable, or what is wrong with the URL, never the URL
/// itself: Slack's and Discord's URLs are credentials.
Result<HttpRequest> notification_request(const Notification& notification, std::string body);

/// The message as a JSON object (the webhook body, and what the outbox keeps).
nlohmann::json to_json(const NotificationMessage& message);
/// The inverse of to_json; missing fields stay empty.
NotificationMessage notification_message_from_json(const nlohmann::json& json);

}  // namespace common
