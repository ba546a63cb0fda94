// http_client.cpp: Beast + OpenSSL client for http_client.hpp (the only Beast client code).
#include "common/http_client.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <cctype>

#include "common/net.hpp"
#include "common/version.hpp"

namespace common {

using namespace common::net;

namespace {

Error phase_error(std::string_view phase, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Error{std::string(phase) + ": timed out"};
  return Error{std::string(phase) + ": " + ec.message()};
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

http::request<http::string_body> make_request(const HttpRequest& in, http::verb verb) {
  const Url& url = in.url;
  http::request<http::string_body> request{verb, url.path + in.target, 11};
  bool default_port = (url.tls && url.port == "443") || (!url.tls && url.port == "80");
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  request.set(http::field::host, default_port ? host : host + ":" + url.port);
  request.set(http::field::user_agent, std::string("durhack-deployer/") + common::version);
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : in.headers) request.set(name, value);
  request.body() = in.body;
  if (!in.body.empty() || verb == http::verb::post || verb == http::verb::put ||
      verb == http::verb::patch) {
    request.prepare_payload();
  }
  return request;
}

// Writes the request, reads the header, then the body into `response` up to max_body bytes.
template <typename Stream>
asio::awaitable<Result<HttpResponse>> exchange(Stream& stream, beast::tcp_stream& tcp,
                                               http::request<http::string_body>& request,
                                               const HttpRequest& in,
                                               std::chrono::steady_clock::time_point deadline) {
  tcp.expires_at(deadline);
  auto [write_ec, written] = co_await http::async_write(stream, request, use_nothrow);
  (void)written;
  if (write_ec) co_return phase_error("send", write_ec);
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  // The body is bounded below by max_body, not by the parser.
  parser.body_limit(boost::none);
  if (request.method() == http::verb::head) parser.skip(true);
  auto [header_ec, header_bytes] =
      co_await http::async_read_header(stream, buffer, parser, use_nothrow);
  (void)header_bytes;
  if (header_ec) co_return phase_error("receive", header_ec);
  HttpResponse response;
  response.status = parser.get().result_int();
  response.reason = std::string(parser.get().reason());
  for (const auto& field : parser.get()) {
    const std::string name(field.name_string());
    const bool wanted = std::any_of(in.keep_headers.begin(), in.keep_headers.end(),
                                    [&](const std::string& k) { return same_name(k, name); });
    if (wanted) response.headers.emplace_back(name, std::string(field.value()));
  }
  std::array<char, 16384> chunk;
  while (!parser.is_done()) {
    if (response.body.size() >= in.max_body) {
      // Enough kept; the rest is not read (the connection is closed after this request).
      response.truncated = true;
      break;
    }
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    (void)read;
    if (read_ec == http::error::need_buffer) read_ec = {};
    if (read_ec) co_return phase_error("receive", read_ec);
    const std::size_t got = chunk.size() - parser.get().body().size;
    const std::size_t room = in.max_body - response.body.size();
    response.body.append(chunk.data(), std::min(got, room));
    if (got > room) response.truncated = true;
  }
  co_return response;
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
  Url url;
  std::string_view rest;
  if (text.rfind("https://", 0) == 0) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    url.tls = false;
    rest = text.substr(7);
  } else {
    return Error{"must start with https:// or http://"};
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) {
    return Error{"must not contain user information"};
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return Error{"has an unterminated IPv6 address"};
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{"has garbage after the IPv6 address"};
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Error{"has no host"};
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
      return Error{"has an invalid port"};
    }
  }
  url.host = std::string(host);
  url.port = port.empty() ? (url.tls ? "443" : "80") : std::string(port);
  url.path = std::string(path);
  return url;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (same_name(key, name)) return value;
  }
  return std::nullopt;
}

namespace {

asio::awaitable<Result<HttpResponse>> exchange_once(const HttpRequest& in, StopSignal& stop) {
  const Url& url = in.url;
  auto executor = co_await asio::this_coro::executor;
  auto deadline = std::chrono::steady_clock::now() + in.timeout;
  const http::verb verb = http::string_to_verb(in.method);
  if (verb == http::verb::unknown) co_return Error{"unknown HTTP method " + in.method};
  auto request = make_request(in, verb);
  if (stop.requested()) co_return Error{"stopped"};

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
  if (stop.requested()) co_return Error{"stopped"};
  if (resolve_ec) {
    co_return resolve_ec == asio::error::operation_aborted
        ? Error{"resolve " + url.host + ": timed out"}
        : phase_error("resolve " + url.host, resolve_ec);
  }

  if (!url.tls) {
    beast::tcp_stream stream(executor);
    in_use = &stream;
    stream.expires_at(deadline);
    auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use_nothrow);
    (void)endpoint;
    if (connect_ec) co_return phase_error("connect", connect_ec);
    auto reply = co_await exchange(stream, stream, request, in, deadline);
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
      co_return Error{"TLS: cannot set the server name"};
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
      co_return Error{std::string("TLS handshake: certificate verify failed: ") +
                      X509_verify_cert_error_string(verify)};
    }
    co_return phase_error("TLS handshake", handshake_ec);
  }
  auto reply = co_await exchange(stream, tcp_layer, request, in, deadline);
  // No TLS close_notify exchange: the request said "Connection: close" and the reply is complete;
  // waiting for the peer's close_notify would only add a way to hang.
  boost::system::error_code ignored;
  tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return reply;
}

}  // namespace

asio::awaitable<Result<HttpResponse>> http_request(const HttpRequest& request, StopSignal& stop) {
  auto response = co_await exchange_once(request, stop);
  // Whichever phase the stop interrupted ("receive: Operation canceled"), say why.
  if (!response.ok() && stop.requested()) co_return Error{"stopped"};
  co_return response;
}

Result<HttpResponse> http_request_sync(const HttpRequest& request) {
  StopSignal stop;  // never requested: request.timeout bounds the exchange
  asio::io_context io;
  // Result has no default constructor, which co_spawn's completion needs: keep it from inside.
  std::optional<Result<HttpResponse>> response;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { response.emplace(co_await http_request(request, stop)); },
      [](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);  // out of io.run()
      });
  io.run();
  return std::move(*response);
}

}  // namespace common
