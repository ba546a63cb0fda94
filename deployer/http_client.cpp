// http_client.cpp: Beast + OpenSSL client for http_client.hpp (the only Beast code here).
#include "deployer/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include "common/version.hpp"

namespace deployer {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxReplyBody = 64 * 1024;

common::Error phase_error(std::string_view phase, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return common::Error{std::string(phase) + ": timed out"};
  std::string message = ec.message();
  // OpenSSL's verification failures say more in the verify result than in the error code.
  return common::Error{std::string(phase) + ": " + message};
}

http::request<http::string_body> make_request(
    const Url& url, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  http::request<http::string_body> request{http::verb::post, url.path + target, 11};
  bool default_port = (url.tls && url.port == "443") || (!url.tls && url.port == "80");
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  request.set(http::field::host, default_port ? host : host + ":" + url.port);
  request.set(http::field::user_agent, std::string("durhack-deployer/") + common::version);
  request.set(http::field::content_type, "application/json");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  return request;
}

template <typename Stream>
asio::awaitable<common::Result<HttpReply>> exchange(
    Stream& stream, beast::tcp_stream& tcp, http::request<http::string_body>& request,
    std::chrono::steady_clock::time_point deadline) {
  tcp.expires_at(deadline);
  auto [write_ec, written] = co_await http::async_write(stream, request, use_nothrow);
  (void)written;
  if (write_ec) co_return phase_error("send", write_ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBody);
  tcp.expires_at(deadline);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_nothrow);
  (void)read;
  if (read_ec) co_return phase_error("receive", read_ec);
  HttpReply reply;
  reply.status = parser.get().result_int();
  reply.body = parser.get().body().substr(0, 4096);
  co_return reply;
}

}  // namespace

common::Result<Url> parse_url(std::string_view text) {
  Url url;
  std::string_view rest;
  if (text.rfind("https://", 0) == 0) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    url.tls = false;
    rest = text.substr(7);
  } else {
    return common::Error{"must start with https:// or http://"};
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) {
    return common::Error{"must not contain user information"};
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return common::Error{"has an unterminated IPv6 address"};
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return common::Error{"has garbage after the IPv6 address"};
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return common::Error{"has no host"};
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
      return common::Error{"has an invalid port"};
    }
  }
  url.host = std::string(host);
  url.port = port.empty() ? (url.tls ? "443" : "80") : std::string(port);
  url.path = std::string(path);
  return url;
}

asio::awaitable<common::Result<HttpReply>> post_json(
    const Url& url, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
    std::chrono::milliseconds timeout, StopSignal& stop) {
  auto executor = co_await asio::this_coro::executor;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto request = make_request(url, target, headers, body);
  if (stop.requested()) co_return common::Error{"stopped"};

  // Resolve with a deadline: the resolver has none of its own, so race it against a timer by
  // cancelling it when the timer fires.
  tcp::resolver resolver(executor);
  // The stream of the current phase, for a stop request to cancel. The registration outlives the
  // streams declared below it, but a stop can only be requested while this coroutine is suspended
  // at one of its co_awaits, where the stream in use is alive.
  beast::tcp_stream* in_use = nullptr;
  auto registration = stop.on_stop([&] {
    resolver.cancel();
    if (in_use != nullptr) in_use->cancel();
  });
  asio::steady_timer resolve_timer(executor, deadline);
  resolve_timer.async_wait([&resolver](boost::system::error_code ec) {
    if (!ec) resolver.cancel();
  });
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(url.host, url.port, use_nothrow);
  resolve_timer.cancel();
  if (stop.requested()) co_return common::Error{"stopped"};
  if (resolve_ec) {
    co_return resolve_ec == asio::error::operation_aborted
        ? common::Error{"resolve " + url.host + ": timed out"}
        : phase_error("resolve " + url.host, resolve_ec);
  }

  if (!url.tls) {
    beast::tcp_stream stream(executor);
    in_use = &stream;
    stream.expires_at(deadline);
    auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use_nothrow);
    (void)endpoint;
    if (connect_ec) co_return phase_error("connect", connect_ec);
    auto reply = co_await exchange(stream, stream, request, deadline);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return reply;
  }

  asio::ssl::context context(asio::ssl::context::tls_client);
  boost::system::error_code ctx_ec;
  // The default verify paths honour SSL_CERT_FILE and SSL_CERT_DIR.
  context.set_default_verify_paths(ctx_ec);
  if (ctx_ec) co_return phase_error("TLS trust store", ctx_ec);
  context.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  boost::system::error_code address_ec;
  asio::ip::make_address(url.host, address_ec);
  if (address_ec) {
    // SNI only for names: RFC 6066 forbids IP literals in server_name.
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
      co_return common::Error{"TLS: cannot set the server name"};
    }
  }
  auto& tcp_layer = beast::get_lowest_layer(stream);
  in_use = &tcp_layer;
  tcp_layer.expires_at(deadline);
  auto [connect_ec, endpoint] = co_await tcp_layer.async_connect(endpoints, use_nothrow);
  (void)endpoint;
  if (connect_ec) co_return phase_error("connect", connect_ec);
  tcp_layer.expires_at(deadline);
  auto [handshake_ec] =
      co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
  if (handshake_ec) {
    long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK) {
      co_return common::Error{std::string("TLS handshake: certificate verify failed: ") +
                              X509_verify_cert_error_string(verify)};
    }
    co_return phase_error("TLS handshake", handshake_ec);
  }
  auto reply = co_await exchange(stream, tcp_layer, request, deadline);
  // No TLS close_notify exchange: the request said "Connection: close" and the reply is complete;
  // waiting for the peer's close_notify would only add a way to hang.
  boost::system::error_code ignored;
  tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return reply;
}

}  // namespace deployer
