// http_client.hpp: one HTTP/1.1 request over HTTPS (or plain HTTP): GitHub's API, health
// checks, notifications, deployctl's test push to the receiver.
//
// HTTPS verifies the server's certificate against OpenSSL's default trust store (so the
// SSL_CERT_FILE / SSL_CERT_DIR environment variables can point at another CA, as tests do) and
// its host name, and sends SNI. Every phase (resolve, connect, handshake, write, read) shares one
// deadline. The request says "Connection: close"; one request per connection. The answer's body is
// kept up to a bound (the rest is not read), and only the response headers the caller names.
// This header keeps Beast out of its includers: the Beast code lives only in http_client.cpp, the
// one slow translation unit.
//
// Contract: http_request never throws for network or HTTP errors; it returns them as values.
// It never includes request headers (a token) in what it returns.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/stop.hpp"

namespace common {

/// An http:// or https:// base URL, split.
struct Url {
  bool tls = true;
  std::string host;  // without brackets for IPv6
  std::string port;  // "443" / "80" by default
  std::string path;  // prefix without the trailing '/' ("" or "/api/v3")
};

/// Parses "https://host[:port][/path]"; the error names what is wrong.
Result<Url> parse_url(std::string_view text);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  ///< "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"
  Url url;
  /// Appended to url.path: "/repos/o/r/statuses/SHA", "/health".
  std::string target = "/";
  /// Sent as given (Host, User-Agent and Connection are set here unless given).
  HttpHeaders headers;
  /// Sent with a Content-Length when not empty, or always for POST, PUT and PATCH.
  std::string body;
  /// One deadline for the whole exchange, from resolving the name to the last byte read.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  /// The most of the answer's body that is kept; a longer body is cut (HttpResponse::truncated).
  std::size_t max_body = 64 * 1024;
  /// Response headers to return (names compared case-insensitively); the others are dropped.
  std::vector<std::string> keep_headers;
};

struct HttpResponse {
  unsigned status = 0;
  std::string reason;  ///< "Accepted"
  std::string body;    ///< at most max_body bytes
  bool truncated = false;
  HttpHeaders headers;  ///< those of keep_headers that came, names as the server wrote them

  /// The value of a kept header (case-insensitive name), if it came.
  std::optional<std::string> header(std::string_view name) const;
};

/// Sends `request` and reads the answer. The error (no answer at all) says which phase failed:
/// "resolve example.com: ...", "connect: Connection refused", "TLS handshake: certificate
/// verify failed: ...", "receive: timed out". A stop request cancels whatever is in progress at
/// once (error "stopped"), so a slow server never delays a shutdown.
boost::asio::awaitable<Result<HttpResponse>> http_request(const HttpRequest& request,
                                                          StopSignal& stop);

/// The same on an io_context of its own, for synchronous callers (deployctl).
Result<HttpResponse> http_request_sync(const HttpRequest& request);

}  // namespace common
