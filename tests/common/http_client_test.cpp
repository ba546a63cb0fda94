// common::http_request against a small HTTP server run by the test on loopback (raw sockets, no
// Beast, so it shares no code with the client): methods, headers sent and kept, the bounded body,
// the one deadline, a refused connection, a stop request; and the parsing of base URLs. HTTPS is
// exercised by the deployer's commit-status tests (tests/deployer/status_test.cpp).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/http_client.hpp"

using namespace common;
using namespace std::chrono_literals;

namespace {

// Accepts one connection at a time on 127.0.0.1 (an ephemeral port), reads one request (head and
// Content-Length body), records it, sends `answer` verbatim (after `delay`) and closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer, std::chrono::milliseconds delay = 0ms)
      : answer_(std::move(answer)), delay_(delay) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }

  Url url() const { return Url{false, "127.0.0.1", std::to_string(port_), ""}; }
  std::string request() const {
    REQUIRE(done_.load());
    return request_;
  }

 private:
  void serve() {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    timeval tv{5, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string data;
    char buffer[4096];
    for (int reads = 0; reads < 1000; ++reads) {
      const auto head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const auto at = data.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(data.substr(at + 16));
        if (data.size() >= head_end + 4 + length) break;
      }
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    request_ = data;
    done_ = true;
    std::this_thread::sleep_for(delay_);
    (void)::send(client, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    ::close(client);
  }

  std::string answer_;
  std::chrono::milliseconds delay_;
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
  std::string request_;
  std::atomic<bool> done_{false};
};

}  // namespace

TEST_CASE("a GET reads the status, the reason, the body and only the headers asked for", "[http]") {
  OneShotServer server(
      "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-Kept: yes\r\nX-Dropped: no\r\n"
      "Connection: close\r\n\r\nhealthy");
  HttpRequest request;
  request.url = server.url();
  request.target = "/health";
  request.keep_headers = {"x-kept"};
  auto result = http_request_sync(request);
  REQUIRE(result.ok());
  CHECK(result->status == 200);
  CHECK(result->reason == "OK");
  CHECK(result->body == "healthy");
  CHECK_FALSE(result->truncated);
  CHECK(result->header("X-KEPT") == std::optional<std::string>("yes"));
  CHECK_FALSE(result->header("X-Dropped"));
  const std::string sent = server.request();
  CHECK(sent.starts_with("GET /health HTTP/1.1\r\n"));
  CHECK(sent.find("Host: 127.0.0.1:") != std::string::npos);
  CHECK(sent.find("Content-Length") == std::string::npos);
}

TEST_CASE("a POST sends its headers and body under the URL's path prefix", "[http]") {
  OneShotServer server("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}");
  HttpRequest request;
  request.method = "POST";
  request.url = server.url();
  request.url.path = "/api/v3";
  request.target = "/repos/o/r/statuses/abc";
  request.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer t"}};
  request.body = R"({"state":"success"})";
  auto result = http_request_sync(request);
  REQUIRE(result.ok());
  CHECK(result->status == 201);
  const std::string sent = server.request();
  CHECK(sent.starts_with("POST /api/v3/repos/o/r/statuses/abc HTTP/1.1\r\n"));
  CHECK(sent.find("Content-Type: application/json\r\n") != std::string::npos);
  CHECK(sent.find("Authorization: Bearer t\r\n") != std::string::npos);
  CHECK(sent.find("Content-Length: 19\r\n") != std::string::npos);
  CHECK(sent.ends_with("\r\n\r\n" + request.body));
}

TEST_CASE("a long body is cut at max_body, chunked or not", "[http]") {
  const std::string big(100000, 'b');
  SECTION("Content-Length") {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + big);
    HttpRequest request;
    request.url = server.url();
    request.max_body = 1000;
    auto result = http_request_sync(request);
    REQUIRE(result.ok());
    CHECK(result->body == std::string(1000, 'b'));
    CHECK(result->truncated);
  }
  SECTION("chunked") {
    OneShotServer server(
        "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    HttpRequest request;
    request.url = server.url();
    auto result = http_request_sync(request);
    REQUIRE(result.ok());
    CHECK(result->status == 500);
    CHECK(result->body == "hello world");
    CHECK_FALSE(result->truncated);
  }
}

TEST_CASE("network failures come back as errors naming the phase", "[http]") {
  SECTION("nobody listening") {
    unsigned short port = 0;
    {
      OneShotServer closed("");
      port = static_cast<unsigned short>(std::stoi(closed.url().port));
      // Connect once so the server's thread ends; the port is free again afterwards.
      HttpRequest wake;
      wake.url = closed.url();
      wake.timeout = 2s;
      (void)http_request_sync(wake);
    }
    HttpRequest request;
    request.url = Url{false, "127.0.0.1", std::to_string(port), ""};
    auto result = http_request_sync(request);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.starts_with("connect: "));
  }
  SECTION("a server that never answers in time") {
    OneShotServer slow("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2s);
    HttpRequest request;
    request.url = slow.url();
    request.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    auto result = http_request_sync(request);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message == "receive: timed out");
    CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  }
  SECTION("an unknown method") {
    HttpRequest request;
    request.method = "BREW";
    auto result = http_request_sync(request);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message == "unknown HTTP method BREW");
  }
}

TEST_CASE("a stop request ends a request in progress at once", "[http]") {
  OneShotServer slow("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2s);
  HttpRequest request;
  request.url = slow.url();
  request.timeout = 10s;
  boost::asio::io_context io;
  StopSignal stop;
  boost::asio::steady_timer stopper(io, 200ms);
  stopper.async_wait([&stop](boost::system::error_code) { stop.request(); });
  const auto start = std::chrono::steady_clock::now();
  std::optional<Result<HttpResponse>> result;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        result.emplace(co_await http_request(request, stop));
      },
      boost::asio::detached);
  io.run();
  REQUIRE(result);
  REQUIRE_FALSE(result->ok());
  CHECK(result->error().message == "stopped");
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
}

TEST_CASE("API base URLs are split into scheme, host, port and path", "[http]") {
  auto github = parse_url("https://api.github.com");
  REQUIRE(github.ok());
  CHECK(github->tls);
  CHECK(github->host == "api.github.com");
  CHECK(github->port == "443");
  CHECK(github->path.empty());

  auto enterprise = parse_url("http://ghe.example.com:8080/api/v3/");
  REQUIRE(enterprise.ok());
  CHECK_FALSE(enterprise->tls);
  CHECK(enterprise->port == "8080");
  CHECK(enterprise->path == "/api/v3");

  auto v6 = parse_url("https://[::1]:8443");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == "8443");

  CHECK_FALSE(parse_url("ftp://example.com").ok());
  CHECK_FALSE(parse_url("https://").ok());
  CHECK_FALSE(parse_url("https://user:pw@example.com").ok());
  CHECK_FALSE(parse_url("https://example.com:99999").ok());
  CHECK_FALSE(parse_url("https://example.com:port").ok());
}
