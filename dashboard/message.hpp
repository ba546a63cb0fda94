// message.hpp: an HTTP request and response as plain values, and the parsing of what a request
// carries (query string, urlencoded form, cookies). No Beast here: server.cpp copies each parsed
// request into a Request and turns each Response back into bytes, so every decision is testable
// without a socket.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dashboard {

struct Request {
  std::string method;                                        ///< "GET"
  std::string target;                                        ///< "/deployments/app?page=2"
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-case
  std::string body;
  std::string peer;  ///< the TCP peer's address

  /// The first value of header `lower_name`.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  /// The target without its query string.
  std::string_view path() const;
  /// The query string's fields (later duplicates ignored).
  std::map<std::string, std::string> query() const;
  /// The body's fields when it is application/x-www-form-urlencoded; empty otherwise.
  std::map<std::string, std::string> form() const;
  /// The value of cookie `name` in the Cookie header(s).
  std::optional<std::string> cookie(std::string_view name) const;
};

/// Asks the server to stream a run's log as Server-Sent Events after the headers.
struct LogStream {
  std::int64_t run_id = 0;
  std::uint64_t offset = 0;  ///< the byte of the log file to start from
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra: Location, Set-Cookie...
  std::optional<LogStream> stream;                           ///< set: an event stream follows

  /// The first value of an extra header (exact name).
  std::optional<std::string> header(std::string_view name) const;
};

/// Decodes application/x-www-form-urlencoded text ('+' is a space, %XX a byte; a malformed
/// escape is kept as it is).
std::map<std::string, std::string> parse_urlencoded(std::string_view text);

/// Percent-encodes everything but [A-Za-z0-9-._~] (for a value in a URL).
std::string url_encode(std::string_view text);

}  // namespace dashboard
