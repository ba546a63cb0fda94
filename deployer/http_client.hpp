// http_client.hpp: one JSON POST over HTTPS (or plain HTTP), for commit statuses.
//
// HTTPS verifies the server's certificate against OpenSSL's default trust store (so the
// SSL_CERT_FILE / SSL_CERT_DIR environment variables can point at another CA, as tests do) and
// its host name, and sends SNI. Every phase (resolve, connect, handshake, write, read) shares one
// deadline. This header keeps Beast out of its includers: the Beast code lives only in
// http_client.cpp, the one slow translation unit.
//
// Contract: post_json never throws for network or HTTP errors; it returns them as values. It
// never includes request headers (the token) in what it returns.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "deployer/stop.hpp"

namespace deployer {

/// An http:// or https:// base URL, split.
struct Url {
  bool tls = true;
  std::string host;  // without brackets for IPv6
  std::string port;  // "443" / "80" by default
  std::string path;  // prefix without the trailing '/' ("" or "/api/v3")
};

/// Parses "https://host[:port][/path]"; the error names what is wrong.
common::Result<Url> parse_url(std::string_view text);

struct HttpReply {
  unsigned status = 0;
  std::string body;  // at most a few KiB, for error messages
};

/// POSTs `body` (application/json) to `url.path + target` with the extra `headers`.
/// The error (no reply at all) says which phase failed: "connect: Connection refused",
/// "TLS handshake: certificate verify failed", "timed out". A stop request cancels whatever is
/// in progress at once (error "stopped"), so a slow server never delays a shutdown.
boost::asio::awaitable<common::Result<HttpReply>> post_json(
    const Url& url, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
    std::chrono::milliseconds timeout, StopSignal& stop);

}  // namespace deployer
