// Unit tests of receiver/handler: every status decided from a request, with no I/O at all.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/entry.hpp"
#include "receiver/handler.hpp"
#include "tests/support/http.hpp"

using receiver::Decision;
using receiver::Request;

namespace {

const std::string kSecret = "It's a Secret to Everybody";
const std::string kBody = R"({"ref":"refs/heads/main", "after" : "0123", "n":[1,2.50,true]})";

receiver::Settings settings() {
  receiver::Settings s;
  s.instance = "deploy.example.com";
  s.secrets = {"old-secret", kSecret};
  return s;
}

Request webhook(std::string body = kBody) {
  Request r;
  r.method = "POST";
  r.target = "/github-webhook";
  r.peer = "127.0.0.1";
  r.received = std::chrono::system_clock::time_point(std::chrono::seconds(1795400000));
  r.headers = {{"content-type", "application/json"},
               {"x-github-event", "push"},
               {"x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
               {"x-github-hook-id", "123456"},
               {"x-hub-signature-256", test::http::sign(kSecret, body)}};
  r.body = std::move(body);
  return r;
}

void set_header(Request& r, const std::string& name, const std::string& value) {
  for (auto& h : r.headers) {
    if (h.name == name) {
      h.value = value;
      return;
    }
  }
  r.headers.push_back({name, value});
}

void remove_header(Request& r, const std::string& name) {
  std::erase_if(r.headers, [&](const receiver::Header& h) { return h.name == name; });
}

nlohmann::json body_of(const Decision& d) {
  return nlohmann::json::parse(d.response.body);
}

// A refusal: the status, no entry to publish, and a JSON body with the same status.
void check_refused(const Decision& d, unsigned status, const std::string& header = {}) {
  INFO(d.response.body);
  CHECK(d.response.status == status);
  CHECK_FALSE(d.entry.has_value());
  auto body = body_of(d);
  CHECK(body["status"] == status);
  CHECK(body["error"].is_string());
  if (!header.empty()) CHECK(body["header"] == header);
}

}  // namespace

TEST_CASE("GET / answers a health document, other paths 404, wrong methods 405 with Allow") {
  Request r;
  r.method = "GET";
  r.target = "/";
  auto d = receiver::handle_request(r, settings());
  CHECK(d.response.status == 200);
  CHECK(body_of(d) == nlohmann::json{{"status", "ok"},
                                     {"service", "receiver"},
                                     {"instance", "deploy.example.com"}});
  r.target = "/?probe=1";
  CHECK(receiver::handle_request(r, settings()).response.status == 200);

  r.target = "/nope";
  check_refused(receiver::handle_request(r, settings()), 404);
  r.target = "/github-webhook/";
  check_refused(receiver::handle_request(r, settings()), 404);

  r.target = "/github-webhook";
  auto get = receiver::handle_request(r, settings());
  check_refused(get, 405);
  CHECK(get.response.allow == "POST");
  r.method = "POST";
  r.target = "/";
  auto post = receiver::handle_request(r, settings());
  check_refused(post, 405);
  CHECK(post.response.allow == "GET");
}

TEST_CASE("a signed JSON webhook becomes an entry carrying the payload verbatim") {
  auto d = receiver::handle_request(webhook(), settings());
  REQUIRE(d.entry.has_value());
  CHECK(d.delivery == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  CHECK(d.event == "push");
  CHECK(d.entry->find("\"payload\":" + kBody) != std::string::npos);
  auto entry = common::parse_entry(*d.entry);
  REQUIRE(entry.ok());
  CHECK(entry->meta.id == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  CHECK(entry->meta.event == "push");
  CHECK(entry->meta.hook_id == "123456");
  CHECK(entry->meta.received_at == "2026-11-23T02:13:20.000000000Z");
  CHECK(entry->payload == nlohmann::json::parse(kBody));

  // After publishing, the session answers 202 naming the entry.
  auto ok = receiver::accepted("01795400000000000000-x.json", "x");
  CHECK(ok.status == 202);
  CHECK(nlohmann::json::parse(ok.body)["entry"] == "01795400000000000000-x.json");
}

TEST_CASE("the hook id is optional") {
  auto r = webhook();
  remove_header(r, "x-github-hook-id");
  auto d = receiver::handle_request(r, settings());
  REQUIRE(d.entry.has_value());
  CHECK_FALSE(common::parse_entry(*d.entry)->meta.hook_id.has_value());
}

TEST_CASE("a form-encoded webhook stores the url-decoded payload field verbatim") {
  std::string json = R"({"zen":"a b+c","x":{"y":[]}})";
  std::string form = "payload=%7B%22zen%22%3A%22a+b%2Bc%22%2C%22x%22%3A%7B%22y%22%3A%5B%5D%7D%7D";
  auto r = webhook(form);
  set_header(r, "content-type", "application/x-www-form-urlencoded");
  auto d = receiver::handle_request(r, settings());
  REQUIRE(d.entry.has_value());
  CHECK(d.entry->find("\"payload\":" + json + "}") != std::string::npos);
}

TEST_CASE("missing, repeated or malformed GitHub headers are 400 naming the header") {
  struct Case {
    std::string header, display, value;
  };
  std::vector<Case> cases = {
      {"x-github-event", "X-GitHub-Event", "Push"},
      {"x-github-event", "X-GitHub-Event", ""},
      {"x-github-delivery", "X-GitHub-Delivery", "../../etc/passwd"},
      {"x-github-delivery", "X-GitHub-Delivery", "abc.json"},
      {"x-github-delivery", "X-GitHub-Delivery", std::string(101, 'a')},
      {"x-github-hook-id", "X-GitHub-Hook-ID", "12a"},
      {"x-hub-signature-256", "X-Hub-Signature-256", "sha1=0123"},
      {"x-hub-signature-256", "X-Hub-Signature-256", "SHA256=" + std::string(64, 'a')},
      {"x-hub-signature-256", "X-Hub-Signature-256", "sha256=" + std::string(63, 'a')},
  };
  for (const auto& c : cases) {
    SECTION("malformed " + c.display + " \"" + c.value.substr(0, 20) + "\"") {
      auto r = webhook();
      set_header(r, c.header, c.value);
      auto d = receiver::handle_request(r, settings());
      check_refused(d, 400, c.display);
      if (c.header == "x-github-delivery") CHECK(d.delivery.empty());
    }
  }
  for (std::string header : {"x-github-event", "x-github-delivery", "x-hub-signature-256"}) {
    SECTION("missing " + header) {
      auto r = webhook();
      remove_header(r, header);
      auto d = receiver::handle_request(r, settings());
      CHECK(d.response.status == 400);
      CHECK(body_of(d)["error"] == "missing header");
      CHECK_FALSE(d.entry.has_value());
    }
    SECTION("repeated " + header) {
      auto r = webhook();
      r.headers.push_back({header, std::string(*r.header(header))});
      check_refused(receiver::handle_request(r, settings()), 400);
    }
  }
}

TEST_CASE("a signature from no configured secret is 401 but either rotated secret is accepted") {
  auto r = webhook();
  set_header(r, "x-hub-signature-256", test::http::sign("wrong", r.body));
  check_refused(receiver::handle_request(r, settings()), 401, "X-Hub-Signature-256");

  r = webhook();
  r.body += " ";  // the body changed after signing
  check_refused(receiver::handle_request(r, settings()), 401);

  r = webhook();
  set_header(r, "x-hub-signature-256", test::http::sign("old-secret", r.body));
  CHECK(receiver::handle_request(r, settings()).entry.has_value());
}

TEST_CASE("content checks come after authentication") {
  auto r = webhook("[1]");
  set_header(r, "content-type", "text/plain");
  set_header(r, "x-hub-signature-256", test::http::sign("wrong", r.body));
  CHECK(receiver::handle_request(r, settings()).response.status == 401);
}

TEST_CASE("other content types are 415") {
  for (std::string type : {"text/plain", "application/xml", "multipart/form-data; boundary=x"}) {
    auto r = webhook();
    set_header(r, "content-type", type);
    check_refused(receiver::handle_request(r, settings()), 415, "Content-Type");
  }
  auto r = webhook();
  remove_header(r, "content-type");
  check_refused(receiver::handle_request(r, settings()), 415, "Content-Type");
}

TEST_CASE("a body that is not one JSON object is 400") {
  std::string deep = "{\"a\":" + std::string(100000, '[');
  for (const std::string& body : {std::string("[1,2]"), std::string("\"push\""),
                                  std::string("{\"a\":1"), std::string("{}{}"), deep}) {
    INFO(body.substr(0, 20));
    check_refused(receiver::handle_request(webhook(body), settings()), 400);
  }
  auto form = webhook("payload=%5B%5D");
  set_header(form, "content-type", "application/x-www-form-urlencoded");
  check_refused(receiver::handle_request(form, settings()), 400);
  auto no_field = webhook("other=%7B%7D");
  set_header(no_field, "content-type", "application/x-www-form-urlencoded");
  check_refused(receiver::handle_request(no_field, settings()), 400);
}

TEST_CASE("the source allowlist believes X-Forwarded-For only from a trusted proxy") {
  auto s = settings();
  s.allow_cidrs = {common::parse_cidr("192.30.252.0/22").value()};

  auto r = webhook();
  auto d = receiver::handle_request(r, s);
  check_refused(d, 403);
  CHECK_THAT(body_of(d)["error"].get<std::string>(), Catch::Contains("127.0.0.1"));

  // No trusted proxy: X-Forwarded-For is not believed.
  r.headers.push_back({"x-forwarded-for", "192.30.252.10"});
  check_refused(receiver::handle_request(r, s), 403);

  s.trusted_proxies = {common::parse_cidr("127.0.0.1/32").value()};
  CHECK(receiver::handle_request(r, s).entry.has_value());
  // A forged entry to the left does not help an outsider.
  set_header(r, "x-forwarded-for", "192.30.252.10, 203.0.113.9");
  check_refused(receiver::handle_request(r, s), 403);
  // Several header instances form one list.
  set_header(r, "x-forwarded-for", "203.0.113.9");
  r.headers.push_back({"x-forwarded-for", "192.30.252.11"});
  CHECK(receiver::handle_request(r, s).entry.has_value());

  remove_header(r, "x-forwarded-for");
  check_refused(receiver::handle_request(r, s), 403, "X-Forwarded-For");

  // Refused sources learn nothing else, even with a bad signature.
  auto bad = webhook();
  set_header(bad, "x-hub-signature-256", "garbage");
  s.trusted_proxies.clear();
  CHECK(receiver::handle_request(bad, s).response.status == 403);
}

TEST_CASE("limit and failure responses share the JSON shape and close when they must") {
  auto big = receiver::too_large(1000);
  CHECK(big.status == 413);
  CHECK(big.close);
  CHECK_THAT(big.body, Catch::Contains("1000"));
  CHECK(receiver::header_too_large(16384).status == 431);
  CHECK(receiver::header_too_large(16384).close);
  auto down = receiver::unavailable("No space left on device");
  CHECK(down.status == 503);
  CHECK_FALSE(down.close);
  CHECK(nlohmann::json::parse(down.body)["error"] ==
        "could not store the delivery: No space left on device");
  // Untrusted bytes in a message never make a response unserialisable.
  CHECK(nlohmann::json::parse(receiver::malformed_http("bad \xff byte").body)["status"] == 400);
}
