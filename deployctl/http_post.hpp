// http_post.hpp: one plain HTTP/1.1 request over a TCP socket, for send-test-push to talk to the
// receiver directly (it listens on loopback without TLS; nginx does TLS in front of it).
//
// The request is sent with "Connection: close" and the answer read to the end of the connection
// (bounded by Content-Length when given). Every socket operation has a deadline, so a receiver
// that accepts and never answers cannot hang the command.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace deployctl {

struct HttpAnswer {
  int status = 0;
  std::string reason;
  std::string body;
};

/// host: a name or address to connect to; "0.0.0.0" and "::" (listen on every address) mean
/// this machine's loopback. Throws Failure "cannot connect to the receiver at host:port: ..."
/// or "... did not answer ..." on network errors and malformed answers.
HttpAnswer http_post(const std::string& host, unsigned port, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     const std::string& body, std::chrono::seconds timeout);

}  // namespace deployctl
