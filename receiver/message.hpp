// message.hpp: an HTTP request and response as plain values, with no Beast in sight.
//
// The session (server.cpp, the only Beast translation unit) copies each parsed request into a
// Request, asks handler.hpp what to answer, and turns the Response back into bytes. Keeping these
// types plain keeps every decision unit-testable and keeps Beast's compile cost in one file.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace receiver {

struct Header {
  std::string name;  ///< lower-case
  std::string value;
};

struct Request {
  std::string method;  ///< as sent: "POST"
  std::string target;  ///< the request-target: "/github-webhook?x=1"
  std::vector<Header> headers;
  std::string body;
  std::string peer;                                ///< the TCP peer's address, "127.0.0.1"
  std::chrono::system_clock::time_point received;  ///< when the header had been read

  /// The first value of header `lower_name`; nullopt when absent.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  /// How many times header `lower_name` appears.
  std::size_t count(std::string_view lower_name) const;
  /// Every value of header `lower_name` joined with ", " (RFC 9110's list rule); nullopt when
  /// absent.
  std::optional<std::string> joined(std::string_view lower_name) const;
  /// The target without its query string.
  std::string_view path() const;
};

struct Response {
  unsigned status = 200;
  std::string body;            ///< JSON text, served as application/json
  std::string allow;           ///< the Allow header of a 405, else empty
  unsigned retry_after_s = 0;  ///< a Retry-After header (seconds) when not 0
  bool close = false;  ///< send Connection: close and end the connection after this response
};

}  // namespace receiver
