// The real receiver under hostile or careless clients: size limits, timeouts, connection cap.
#include <catch2/catch.hpp>

#include <system_error>

#include "tests/receiver/receiver_process.hpp"

using test::ReceiverProcess;
namespace http = test::http;
using namespace std::chrono_literals;

namespace {

// A request head promising `length` body bytes (none of them sent yet).
std::string head_with_length(const ReceiverProcess& receiver, std::size_t length) {
  auto hook = receiver.webhook();
  auto raw = http::webhook_request(hook);
  auto head = raw.substr(0, raw.find("\r\n\r\n") + 4);
  auto declared = "Content-Length: " + std::to_string(hook.body.size()) + "\r\n";
  auto at = head.find(declared);
  REQUIRE(at != std::string::npos);
  return head.replace(at, declared.size(), "Content-Length: " + std::to_string(length) + "\r\n");
}

}  // namespace

TEST_CASE("a Content-Length over the limit is 413 before any body byte is sent") {
  test::ReceiverOptions options;
  options.receiver = {{"body_limit_bytes", 1000}};
  ReceiverProcess receiver(options);
  http::Connection c(receiver.port());
  c.send(head_with_length(receiver, 1001));
  auto response = c.read_response();  // no body was sent: the answer cannot have waited for it
  CHECK(response.status == 413);
  CHECK(response.header("connection") == "close");
  CHECK_THAT(response.json()["error"].get<std::string>(), Catch::Contains("1000"));
  CHECK(c.closed_by_peer(5s));
  CHECK(receiver.all_files().empty());

  // The default limit is 25 MB (26214400 bytes).
  ReceiverProcess defaults;
  http::Connection d(defaults.port());
  d.send(head_with_length(defaults, 26214401));
  CHECK(d.read_response().status == 413);
  // Exactly at the limit is fine (checked with the small receiver).
  auto hook = receiver.webhook("{\"pad\":\"" + std::string(1000 - 10, 'x') + "\"}");
  REQUIRE(hook.body.size() == 1000);
  CHECK(receiver.send(http::webhook_request(hook)).status == 202);
}

TEST_CASE("a chunked body is cut off with 413 as soon as it passes the limit") {
  test::ReceiverOptions options;
  options.receiver = {{"body_limit_bytes", 1000}};
  ReceiverProcess receiver(options);
  auto hook = receiver.webhook("{\"pad\":\"" + std::string(5000, 'x') + "\"}");
  hook.chunked = true;
  http::Connection c(receiver.port());
  auto raw = http::webhook_request(hook);
  try {
    c.send(raw);
  } catch (const std::system_error&) {
    // The receiver may close before everything is sent; the response is still readable.
  }
  auto response = c.read_response();
  CHECK(response.status == 413);
  CHECK(receiver.all_files().empty());

  // A small chunked body is accepted.
  auto small = receiver.webhook("{\"pad\":\"" + std::string(500, 'y') + "\"}");
  small.chunked = true;
  auto ok = receiver.send(http::webhook_request(small));
  CHECK(ok.status == 202);
  CHECK(receiver.entry_text(ok.json()["entry"]).find(small.body) != std::string::npos);
}

TEST_CASE("a header over header_limit_bytes is 431") {
  test::ReceiverOptions options;
  options.receiver = {{"header_limit_bytes", 4096}};
  ReceiverProcess receiver(options);
  auto hook = receiver.webhook();
  hook.extra_headers = {{"X-Padding", std::string(5000, 'p')}};
  http::Connection c(receiver.port());
  c.send(http::webhook_request(hook));
  auto response = c.read_response();
  CHECK(response.status == 431);
  CHECK(c.closed_by_peer(5s));
  CHECK(receiver.all_files().empty());
  // A normal request right after is fine.
  CHECK(receiver.send(http::webhook_request(receiver.webhook())).status == 202);
}

TEST_CASE("garbage instead of HTTP is 400 and the connection is closed") {
  ReceiverProcess receiver;
  http::Connection c(receiver.port());
  c.send("HELLO THERE\r\n\r\n");
  auto response = c.read_response();
  CHECK(response.status == 400);
  CHECK(c.closed_by_peer(5s));
  CHECK(receiver.child().running());
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the body is sent") {
  ReceiverProcess receiver;
  auto hook = receiver.webhook();
  hook.extra_headers = {{"Expect", "100-continue"}};
  auto raw = http::webhook_request(hook);
  auto split = raw.find("\r\n\r\n") + 4;
  http::Connection c(receiver.port());
  c.send(raw.substr(0, split));
  CHECK(c.read_response().status == 100);
  c.send(raw.substr(split));
  CHECK(c.read_response().status == 202);
}

TEST_CASE("a client that stops sending mid-request is cut off after read_timeout_s") {
  test::ReceiverOptions options;
  options.receiver = {{"read_timeout_s", 1}, {"idle_timeout_s", 30}};
  ReceiverProcess receiver(options);
  // Slowloris: half a header, then silence.
  http::Connection slow(receiver.port());
  slow.send("POST /github-webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Ev");
  // Half a body.
  http::Connection half(receiver.port());
  auto raw = http::webhook_request(receiver.webhook());
  half.send(raw.substr(0, raw.size() - 5));
  // A connection that never sends anything.
  http::Connection silent(receiver.port());
  auto started = std::chrono::steady_clock::now();
  CHECK(slow.closed_by_peer(5s));
  CHECK(half.closed_by_peer(5s));
  CHECK(silent.closed_by_peer(5s));
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  CHECK(receiver.all_files().empty());
  CHECK(receiver.send(http::simple_request("GET", "/")).status == 200);
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout_s") {
  test::ReceiverOptions options;
  options.receiver = {{"idle_timeout_s", 1}, {"read_timeout_s", 10}};
  ReceiverProcess receiver(options);
  http::Connection c(receiver.port());
  CHECK(c.request(http::simple_request("GET", "/")).status == 200);
  auto started = std::chrono::steady_clock::now();
  CHECK(c.closed_by_peer(5s));
  auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited > 500ms);
  CHECK(waited < 4s);
}

TEST_CASE("connections beyond max_connections get 503 at once and freed slots are reused") {
  test::ReceiverOptions options;
  options.receiver = {{"max_connections", 2}};
  ReceiverProcess receiver(options);
  // Busy connections (a request begun): none of them may be closed to make room.
  std::vector<http::Connection> held;
  for (int i = 0; i < 2; ++i) {
    held.emplace_back(receiver.port());
    held.back().send("GET / HTTP/1.1\r\nHost: x\r\n");
  }
  http::Connection extra(receiver.port());
  auto refused = extra.read_response();  // answered without even sending a request
  CHECK(refused.status == 503);
  CHECK_THAT(refused.json()["error"].get<std::string>(), Catch::Contains("too many connections"));
  CHECK(extra.closed_by_peer(5s));

  held.pop_back();  // closing one frees its slot
  CHECK(test::eventually(
      [&] {
        http::Connection again(receiver.port());
        try {
          return again.request(http::simple_request("GET", "/")).status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      5s));
  // The held connection still works.
  held.front().send("\r\n");
  CHECK(held.front().read_response().status == 200);

  // Now idle (kept alive, waiting for its next request): at the cap, a new connection closes
  // it instead of being refused.
  http::Connection busy(receiver.port());
  busy.send("GET / HTTP/1.1\r\nHost: x\r\n");
  http::Connection newcomer(receiver.port());
  CHECK(newcomer.request(http::simple_request("GET", "/")).status == 200);
  CHECK(held.front().closed_by_peer(5s));
  busy.send("\r\n");
  CHECK(busy.read_response().status == 200);
}
