// A small blocking HTTP/1.1 client for tests, over plain sockets (no Beast, so it compiles fast).
//
// Tests talk to the REAL receiver binary with it: send raw bytes (well-formed requests, or
// deliberately broken ones: a huge Content-Length, a header that never ends, half a body), then
// read one response with its status, headers and body. webhook_request() builds a GitHub-style
// signed POST; the signature is computed here with OpenSSL directly, independently of
// common/signature.cpp, so a bug there cannot hide itself.
//
// Every call has a deadline (the connection's timeout); failures throw std::runtime_error with
// what was expected and what arrived, so a test fails with a readable message instead of hanging.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace test::http {

struct Response {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased, in order
  std::string body;

  /// The first value of a header (name compared case-insensitively); nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
  /// The body parsed as JSON; throws naming the status and body when it is not JSON.
  nlohmann::json json() const;
};

/// One TCP connection to host:port, blocking, with a deadline on every operation.
class Connection {
 public:
  explicit Connection(unsigned short port, const std::string& host = "127.0.0.1",
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Sends all bytes; throws std::system_error (EPIPE, ECONNRESET, ...) on failure.
  void send(std::string_view bytes);
  /// Reads the next response (an interim 1xx too, when one comes). Throws on timeout, on a
  /// connection closed before a whole response, or on a malformed response.
  Response read_response();
  /// send() then read_response(), skipping interim 1xx responses.
  Response request(std::string_view bytes);
  /// True when the server closes the connection (EOF or reset) within `timeout`; data that
  /// arrives meanwhile is discarded.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  /// shutdown(SHUT_WR): the server reads EOF after what was sent.
  void shutdown_write();
  /// Sets the deadline used by every later call.
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  int fd() const { return fd_; }

 private:
  /// Reads more bytes into buffer_ before `deadline`; false on EOF.
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

/// "sha256=" + hex HMAC-SHA256(secret, body), as GitHub sends in X-Hub-Signature-256.
std::string sign(std::string_view secret, std::string_view body);

/// A random id in GitHub's delivery format (a UUID, "72d3162e-cc78-11e3-81ab-4c9367dc0958").
std::string random_delivery();

/// What webhook_request() builds.
struct Webhook {
  std::string secret;
  std::string body = R"({"zen":"Keep it logically awesome.","hook_id":123456})";
  std::string event = "push";
  std::string delivery;  ///< empty: random_delivery()
  std::string content_type = "application/json";
  std::string path = "/github-webhook";
  std::string hook_id = "123456";
  std::optional<std::string> signature;                            ///< overrides sign(secret, body)
  std::vector<std::pair<std::string, std::string>> extra_headers;  ///< appended as given
  std::vector<std::string> omit;  ///< header names to leave out ("X-GitHub-Delivery"), any case
  bool keep_alive = true;
  bool chunked = false;  ///< send the body with Transfer-Encoding: chunked (in 1000-byte chunks)
};

/// The raw bytes of a signed POST as GitHub sends it: Host, User-Agent GitHub-Hookshot,
/// Content-Type, X-GitHub-Event, X-GitHub-Delivery, X-GitHub-Hook-ID, X-Hub-Signature-256,
/// Content-Length (or Transfer-Encoding), Connection, then `extra_headers`, then the body.
std::string webhook_request(const Webhook& hook);

/// A bare GET (or other method) without body.
std::string simple_request(std::string_view method, std::string_view path, bool keep_alive = true);

/// Connects, sends `raw`, reads one response (skipping 1xx), closes.
Response roundtrip(unsigned short port, std::string_view raw,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// True once something accepts TCP connections on 127.0.0.1:port (polls every 10 ms).
bool wait_for_port(unsigned short port,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace test::http
