// The real receiver, one status at a time: what it answers and what it writes (or does not).
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>

#include "common/entry.hpp"
#include "tests/receiver/receiver_process.hpp"

using test::ReceiverProcess;
namespace http = test::http;

namespace {

// Sends a webhook expected to be refused: checks the status, the JSON body naming the header,
// and that inbox/ is still empty (no entry, no temporary).
void check_refused(ReceiverProcess& receiver, const http::Webhook& hook, int status,
                   const std::string& header = {}) {
  auto response = receiver.send(http::webhook_request(hook));
  INFO(response.body);
  CHECK(response.status == status);
  CHECK(response.header("content-type") == "application/json");
  auto body = response.json();
  CHECK(body["status"] == status);
  if (!header.empty()) CHECK(body["header"] == header);
  CHECK(receiver.all_files().empty());
}

}  // namespace

TEST_CASE("GET / is healthy, unknown paths are 404, wrong methods 405 with Allow") {
  ReceiverProcess receiver;
  http::Connection c(receiver.port());
  auto health = c.request(http::simple_request("GET", "/"));
  CHECK(health.status == 200);
  CHECK(health.json() ==
        nlohmann::json{{"status", "ok"}, {"service", "receiver"}, {"instance", "receiver-test"}});
  // Keep-alive: the same connection serves the next requests.
  auto missing = c.request(http::simple_request("GET", "/wp-admin"));
  CHECK(missing.status == 404);
  CHECK(missing.json()["status"] == 404);
  auto get_hook = c.request(http::simple_request("GET", "/github-webhook"));
  CHECK(get_hook.status == 405);
  CHECK(get_hook.header("allow") == "POST");
  auto post_root = c.request(http::simple_request("POST", "/"));
  CHECK(post_root.status == 405);
  CHECK(post_root.header("allow") == "GET");
  CHECK(receiver.all_files().empty());
}

TEST_CASE("a signed JSON delivery is stored byte for byte, then answered 202") {
  ReceiverProcess receiver;
  // Odd spacing, key order, escapes and non-ASCII: a re-serialised payload would differ.
  std::string body =
      "{ \"ref\" : \"refs/heads/main\",\"after\":\"0123456789abcdef0123456789abcdef01234567\","
      "\"repository\":{\"full_name\":\"ducompsoc/durhack\"},\"head_commit\":{\"message\":"
      "\"caf\\u00e9 \xc3\xa9 \\\"q\\\"\\n\"},\"n\":1.50, \"z\":[ ] }";
  auto hook = receiver.webhook(body);
  hook.delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
  auto response = receiver.send(http::webhook_request(hook));
  REQUIRE(response.status == 202);
  auto answer = response.json();
  CHECK(answer["delivery"] == hook.delivery);
  std::string name = answer["entry"];
  CHECK(name.size() == 20 + 1 + hook.delivery.size() + 5);
  CHECK(name.substr(21) == hook.delivery + ".json");

  CHECK(receiver.all_files() == std::vector<std::string>{name});
  auto text = receiver.entry_text(name);
  CHECK(text.find("\"payload\":" + body) != std::string::npos);
  auto entry = common::parse_entry(text);
  REQUIRE(entry.ok());
  CHECK(entry->meta.id == hook.delivery);
  CHECK(entry->meta.event == "push");
  CHECK(entry->meta.hook_id == "123456");
  REQUIRE(entry->meta.received_at.has_value());
  CHECK(entry->meta.received_at->size() == 30);
  CHECK(entry->payload == nlohmann::json::parse(body));
}

TEST_CASE("a form-encoded delivery stores the decoded payload field") {
  ReceiverProcess receiver;
  auto hook =
      receiver.webhook("payload=%7B%22zen%22%3A%22Design+for+failure.%22%2C%22hook_id%22%3A7%7D");
  hook.content_type = "application/x-www-form-urlencoded";
  hook.event = "ping";
  auto response = receiver.send(http::webhook_request(hook));
  REQUIRE(response.status == 202);
  auto text = receiver.entry_text(response.json()["entry"]);
  CHECK(text.find(R"("payload":{"zen":"Design for failure.","hook_id":7})") != std::string::npos);
  CHECK(common::parse_entry(text)->meta.event == "ping");
}

TEST_CASE("missing or malformed GitHub headers are 400 naming the header and nothing is written") {
  ReceiverProcess receiver;
  for (std::string header : {"X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"}) {
    INFO("missing " << header);
    auto hook = receiver.webhook();
    hook.omit = {header};
    check_refused(receiver, hook, 400, header);
  }
  auto hook = receiver.webhook();
  hook.delivery = "..%2F..%2Fescape";
  check_refused(receiver, hook, 400, "X-GitHub-Delivery");
  hook = receiver.webhook();
  hook.extra_headers = {{"X-GitHub-Delivery", "second-id"}};
  check_refused(receiver, hook, 400, "X-GitHub-Delivery");
  hook = receiver.webhook();
  hook.event = "push;rm";
  check_refused(receiver, hook, 400, "X-GitHub-Event");
  hook = receiver.webhook();
  hook.hook_id = "-1";
  check_refused(receiver, hook, 400, "X-GitHub-Hook-ID");
  hook = receiver.webhook();
  hook.signature = "sha1=7d38cdd689735b008b3c702edd92eea23791c5f6";
  check_refused(receiver, hook, 400, "X-Hub-Signature-256");
}

TEST_CASE("a signature from another secret is 401 and nothing is written") {
  ReceiverProcess receiver;
  auto hook = receiver.webhook();
  hook.secret = "not the secret";
  check_refused(receiver, hook, 401, "X-Hub-Signature-256");
  hook = receiver.webhook();
  hook.signature = http::sign(test::kReceiverSecret, hook.body + "tampered");
  check_refused(receiver, hook, 401);
  // Neither the secret nor a signature ever reaches the log.
  auto log = receiver.log();
  CHECK(log.find(test::kReceiverSecret) == std::string::npos);
  CHECK(log.find(http::sign(test::kReceiverSecret, hook.body).substr(7)) == std::string::npos);
  CHECK(log.find("status=401") != std::string::npos);
}

TEST_CASE("other content types are 415 and bodies that are not one JSON object are 400") {
  ReceiverProcess receiver;
  auto hook = receiver.webhook();
  hook.content_type = "text/plain";
  check_refused(receiver, hook, 415, "Content-Type");
  hook.omit = {"Content-Type"};
  check_refused(receiver, hook, 415, "Content-Type");

  for (std::string body : {std::string("[{}]"), std::string("{\"a\":1"), std::string("{}x")}) {
    check_refused(receiver, receiver.webhook(body), 400);
  }
  hook = receiver.webhook("payload=%5B%5D");
  hook.content_type = "application/x-www-form-urlencoded";
  check_refused(receiver, hook, 400);

  // 100,000 nested brackets: refused, and the receiver is still there.
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  check_refused(receiver, receiver.webhook(deep), 400);
  std::string deeper;
  for (int i = 0; i < 100000; ++i) deeper += "{\"a\":";
  check_refused(receiver, receiver.webhook(deeper), 400);
  CHECK(receiver.send(http::simple_request("GET", "/")).status == 200);
  CHECK(receiver.child().running());
}

TEST_CASE("the allowlist refuses other sources with 403 and believes only trusted proxies") {
  SECTION("no trusted proxy: the loopback peer is outside the list") {
    test::ReceiverOptions options;
    options.receiver = {{"allow_cidrs", {"192.30.252.0/22", "2a0a:a440::/29"}}};
    ReceiverProcess receiver(options);
    auto hook = receiver.webhook();
    check_refused(receiver, hook, 403);
    // X-Forwarded-For is not believed from a peer that is not a trusted proxy.
    hook.extra_headers = {{"X-Forwarded-For", "192.30.252.1"}};
    check_refused(receiver, hook, 403);
  }
  SECTION("a trusted proxy: the rightmost untrusted X-Forwarded-For entry is the client") {
    test::ReceiverOptions options;
    options.receiver = {{"allow_cidrs", {"192.30.252.0/22", "2a0a:a440::/29"}},
                        {"trusted_proxies", {"127.0.0.1/32"}}};
    ReceiverProcess receiver(options);
    auto hook = receiver.webhook();
    hook.extra_headers = {{"X-Forwarded-For", "203.0.113.5, 192.30.252.1"}};
    CHECK(receiver.send(http::webhook_request(hook)).status == 202);
    hook.extra_headers = {{"X-Forwarded-For", "2a0a:a440::1"}};
    CHECK(receiver.send(http::webhook_request(hook)).status == 202);
    CHECK(receiver.entries().size() == 2);

    ReceiverProcess other(options);
    hook.extra_headers = {{"X-Forwarded-For", "192.30.252.1, 203.0.113.5"}};
    check_refused(other, hook, 403);
    hook.extra_headers = {};
    check_refused(other, hook, 403, "X-Forwarded-For");
  }
}

TEST_CASE("when the inbox cannot be written the answer is 503 and nothing is left behind") {
  ReceiverProcess receiver;
  std::filesystem::remove(receiver.inbox());
  auto response = receiver.send(http::webhook_request(receiver.webhook()));
  CHECK(response.status == 503);
  CHECK_THAT(response.json()["error"].get<std::string>(),
             Catch::Contains("could not store the delivery"));
  CHECK_FALSE(std::filesystem::exists(receiver.inbox()));

  // A file where the folder should be (ENOTDIR): still 503, the file untouched.
  test::write_file(receiver.inbox(), "not a folder");
  CHECK(receiver.send(http::webhook_request(receiver.webhook())).status == 503);
  CHECK(test::read_file(receiver.inbox()) == "not a folder");
  CHECK_THAT(receiver.log(), Catch::Contains("publish failed"));

  // The folder is back: deliveries are accepted again, without a restart.
  std::filesystem::remove(receiver.inbox());
  std::filesystem::create_directory(receiver.inbox());
  CHECK(receiver.send(http::webhook_request(receiver.webhook())).status == 202);
  CHECK(receiver.entries().size() == 1);
}

TEST_CASE("every request is logged once with delivery, event, status, bytes and microseconds") {
  ReceiverProcess receiver;
  auto hook = receiver.webhook();
  hook.delivery = "log-line-delivery";
  REQUIRE(receiver.send(http::webhook_request(hook)).status == 202);
  receiver.send(http::simple_request("GET", "/nothing"));
  REQUIRE(receiver.stop(SIGTERM) == 0);
  auto log = receiver.log();
  auto line_start = log.find("delivery=log-line-delivery");
  REQUIRE(line_start != std::string::npos);
  auto line = log.substr(log.rfind('\n', line_start) + 1);
  line = line.substr(0, line.find('\n'));
  CHECK_THAT(line, Catch::Contains("event=push"));
  CHECK_THAT(line, Catch::Contains("status=202"));
  CHECK_THAT(line, Catch::Contains("bytes=" + std::to_string(hook.body.size())));
  CHECK_THAT(line, Catch::Matches(".* us=[0-9]+ .*"));
  CHECK_THAT(log, Catch::Contains("status=404"));
}
