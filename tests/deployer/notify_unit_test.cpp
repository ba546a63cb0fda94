// Notifications without I/O: the "notify" configuration (and its errors, naming the key path),
// the "on" and "deployments" filters, and the bodies and signature of each type.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/notification.hpp"
#include "tests/support/http.hpp"

using nlohmann::json;

namespace {

json two_deployments(json notify) {
  json config = json::parse(R"({
    "instance": "test", "state_dir": "/var/lib/d",
    "deployments": {
      "web": { "repository": "o/web", "branch": "main", "path": "/srv/web", "steps": [] },
      "api": { "repository": "o/api", "branch": "main", "path": "/srv/api", "steps": [] }
    }
  })");
  config["notify"] = std::move(notify);
  return config;
}

std::string error_of(const json& config) {
  try {
    common::parse_config(config.dump(), "d.json");
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}

const json ops = {{"name", "ops"},
                  {"type", "webhook"},
                  {"url", {{"env", "OPS_URL"}}},
                  {"secret", {{"file", "/etc/d/ops"}}},
                  {"on", {"failed", "rolled_back"}}};

}  // namespace

TEST_CASE("notify: parsed with its sources, filters and defaults", "[notify]") {
  json chat = {{"name", "chat"},
               {"type", "discord"},
               {"url", {{"env", "CHAT_URL"}}},
               {"on", {"succeeded"}},
               {"deployments", {"api"}}};
  const auto config = common::parse_config(two_deployments({ops, chat}).dump(), "d.json");
  REQUIRE(config.notify.size() == 2);
  CHECK(config.notify[0].type == common::Notification::Type::webhook);
  CHECK(config.notify[0].secret == common::SecretSource::from_file("/etc/d/ops"));
  CHECK(config.notify[0].deployments.empty());
  CHECK(config.notify[1].url == common::SecretSource::from_env("CHAT_URL"));
  CHECK_FALSE(config.notify[1].secret);

  // to_json_masked round-trips.
  const auto again = common::parse_config(common::to_json_masked(config).dump(), "d.json");
  CHECK(again.notify.size() == 2);
  CHECK(again.notify[1].deployments == std::vector<std::string>{"api"});

  CHECK(common::notification_wants(config.notify[0], "web", "failed"));
  CHECK(common::notification_wants(config.notify[0], "api", "rolled_back"));
  CHECK_FALSE(common::notification_wants(config.notify[0], "web", "succeeded"));
  CHECK_FALSE(common::notification_wants(config.notify[0], "web", "recovered"));
  CHECK(common::notification_wants(config.notify[1], "api", "succeeded"));
  CHECK(common::notification_wants(config.notify[1], "api", "recovered"));  // a success too
  CHECK_FALSE(common::notification_wants(config.notify[1], "web", "succeeded"));
}

TEST_CASE("notify: each mistake is named by its key path", "[notify]") {
  auto with = [](const char* key, json value) {
    json item = ops;
    if (value.is_null()) {
      item.erase(key);
    } else {
      item[key] = std::move(value);
    }
    return error_of(two_deployments({item}));
  };
  CHECK(with("type", "email") ==
        "d.json: notify[0].type: must be \"slack\", \"discord\" or \"webhook\"");
  CHECK(with("secret", nullptr) == "d.json: notify[0].secret: is required");
  CHECK(
      with("on", json::array({"failed", "exploded"})) ==
      "d.json: notify[0].on[1]: must be one of failed, rolled_back, succeeded, waiting, recovered");
  CHECK(with("deployments", json::array({"nope"})) ==
        "d.json: notify[0].deployments[0]: is not a deployment of this configuration");
  CHECK(with("name", "a b") ==
        "d.json: notify[0].name: must be 1-100 characters of A-Z a-z 0-9 _ -");
  CHECK(with("url", "https://hooks.example/x").find("notify[0].url") != std::string::npos);
  json slack = {{"name", "s"},
                {"type", "slack"},
                {"url", {{"env", "U"}}},
                {"on", {"failed"}},
                {"secret", {{"env", "S"}}}};
  CHECK(error_of(two_deployments({slack})).find("notify[0].secret: is only for type") !=
        std::string::npos);
  CHECK(error_of(two_deployments({ops, ops})) ==
        "d.json: notify[1].name: is already used by another entry");
}

TEST_CASE("notify: Slack, Discord and signed webhook bodies", "[notify]") {
  common::NotificationMessage message;
  message.deployment = "web";
  message.outcome = "failed";
  message.sha = "0123456789abcdef0123456789abcdef01234567";
  message.subject = "Fix login";
  message.author = "Ada";
  message.duration_s = 12.34;
  message.error = "step build exited with status 2";
  const std::string text =
      "web: deploy failed: 0123456 \"Fix login\" by Ada (12.3 s): step build exited with status 2";
  CHECK(json::parse(common::render_notification(common::Notification::Type::slack, message)) ==
        json{{"text", text}});
  CHECK(json::parse(common::render_notification(common::Notification::Type::discord, message)) ==
        json{{"content", text}});
  const auto body = common::render_notification(common::Notification::Type::webhook, message);
  const auto parsed = json::parse(body);
  CHECK(parsed["text"] == text);
  CHECK(parsed["sha"] == message.sha);
  CHECK(parsed["outcome"] == "failed");
  CHECK(common::notification_message_from_json(parsed).subject == "Fix login");

  const auto headers =
      common::notification_headers(common::Notification::Type::webhook, body, "s3cret");
  std::string signature;
  for (const auto& [name, value] : headers) {
    if (name == "X-Deployer-Signature-256") signature = value;
  }
  CHECK(signature == test::http::sign("s3cret", body));  // computed independently
  CHECK(common::notification_headers(common::Notification::Type::slack, body, {}).empty());

  message.log_url = "https://deploy.example/runs/42";
  CHECK(common::notification_text(message).ends_with(" https://deploy.example/runs/42"));
}
