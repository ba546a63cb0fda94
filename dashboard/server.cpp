// server.cpp: listener, sessions and event streams (server.hpp). The only translation unit of the
// dashboard that includes Beast; what to answer is decided in app.cpp.
#include "dashboard/server.hpp"

#include <signal.h>

#include <chrono>
#include <list>
#include <stdexcept>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log.hpp"
#include "common/net.hpp"
#include "common/version.hpp"

namespace dashboard {
namespace {

using namespace common::net;
using namespace std::chrono_literals;

constexpr std::uint32_t kHeaderLimit = 16384;
constexpr std::uint64_t kBodyLimit = 65536;
constexpr auto kReadTimeout = 10s;
constexpr auto kIdleTimeout = 60s;
constexpr std::uint32_t kMaxConnections = 256;
constexpr auto kPollEvery = 500ms;
constexpr auto kPingEvery = 15s;
constexpr auto kStreamLifetime = 1h;

std::string text(beast::string_view s) {
  return std::string(s.data(), s.size());
}

// The SSE form of a log chunk: one event per line, its id the file offset after the line.
std::string events_of(const LogChunk& chunk, std::uint64_t offset) {
  std::string out;
  std::size_t start = 0;
  while (start < chunk.data.size()) {
    auto end = chunk.data.find('\n', start);
    const bool whole = end != std::string::npos;
    if (!whole) end = chunk.data.size();
    std::string line = chunk.data.substr(start, end - start);
    // A carriage return would end the SSE line early.
    std::erase(line, '\r');
    offset += (end - start) + (whole ? 1 : 0);
    out += "id: " + std::to_string(offset) + "\ndata: " + line + "\n\n";
    start = end + 1;
  }
  return out;
}

class Server {
 public:
  Server(const common::Config& config, App& app, std::function<void()> reload)
      : config_(config),
        app_(app),
        reload_(std::move(reload)),
        ioc_(1),
        pool_(4),
        acceptor_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM) {
    listen();
  }

  void run() {
    if (reload_) signals_.add(SIGHUP);
    wait_for_signal();
    asio::co_spawn(ioc_, accept_loop(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    ioc_.run();
    pool_.join();
    common::log::info("stopped");
  }

 private:
  void listen() {
    const auto& listen = config_.dashboard.listen;
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      throw std::runtime_error("dashboard.listen.host: cannot resolve \"" + listen.host +
                               "\": " + ec.message());
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    // A restarted dashboard must bind while its old connections are in TIME_WAIT.
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + listen.host + ":" +
                               std::to_string(listen.port) + ": " + ec.message());
    }
    common::log::info("listening",
                      {{"host", endpoint.address().to_string()},
                       {"port", static_cast<unsigned>(acceptor_.local_endpoint().port())},
                       {"version", common::version}});
  }

  // SIGHUP reloads and goes on waiting; SIGINT or SIGTERM stops.
  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal != SIGHUP) return stop();
      reload_();
      wait_for_signal();
    });
  }

  void stop() {
    stopping_ = true;
    common::log::info("stopping", {{"connections", streams_.size()}});
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (auto* stream : streams_) stream->socket().close(ignored);
  }

  asio::awaitable<void> accept_loop() {
    while (!stopping_) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
      if (stopping_ || ec == asio::error::operation_aborted) break;
      if (ec) {
        // Out of descriptors and the like: pause instead of spinning.
        asio::steady_timer pause(ioc_, 100ms);
        co_await pause.async_wait(use_nothrow);
        continue;
      }
      if (streams_.size() >= kMaxConnections) continue;  // closed at once
      asio::co_spawn(ioc_, session(std::move(socket)), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& error) {
          common::log::error("connection failed", {{"error", error.what()}});
        }
      });
    }
  }

  // Answers on the pool, resumes here.
  asio::awaitable<Response> answer(const Request& request) {
    const Request* r = &request;
    co_return co_await asio::co_spawn(
        pool_, [this, r]() -> asio::awaitable<Response> { co_return app_.handle(*r); },
        asio::use_awaitable);
  }

  asio::awaitable<LogChunk> next_chunk(std::int64_t run_id, std::uint64_t offset) {
    co_return co_await asio::co_spawn(
        pool_,
        [this, run_id, offset]() -> asio::awaitable<LogChunk> {
          co_return app_.follow(run_id, offset);
        },
        asio::use_awaitable);
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? std::string() : remote.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    streams_.push_back(&stream);
    const auto registration = std::prev(streams_.end());
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping_) {
      stream.expires_after(first ? std::chrono::seconds(kReadTimeout) : kIdleTimeout);
      first = false;
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (read_ec) {
        if (read_ec == http::error::body_limit || read_ec == http::error::header_limit) {
          http::response<http::string_body> refused{http::status::payload_too_large, 11};
          refused.body() = "request too large\n";
          refused.keep_alive(false);
          refused.prepare_payload();
          co_await http::async_write(stream, refused, use_nothrow);
        }
        break;
      }
      auto message = parser.release();
      Request request;
      request.method = text(message.method_string());
      request.target = text(message.target());
      for (const auto& field : message) {
        std::string name = text(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers.push_back({std::move(name), text(field.value())});
      }
      request.body = std::move(message.body());
      request.peer = peer;
      const auto started = std::chrono::steady_clock::now();
      Response response = co_await answer(request);
      common::log::info(
          "request",
          {{"method", request.method},
           {"path", std::string(request.path())},
           {"peer", peer},
           {"status", response.status},
           {"us", static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count())}});
      if (response.stream) {
        co_await event_stream(stream, response);
        break;
      }
      http::response<http::string_body> out{static_cast<http::status>(response.status),
                                            message.version()};
      out.set(http::field::server, "deploy-dashboard");
      out.set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) out.insert(name, value);
      if (request.method != "HEAD") out.body() = std::move(response.body);
      const bool keep_alive = message.keep_alive() && !stopping_;
      out.keep_alive(keep_alive);
      out.prepare_payload();
      stream.expires_after(std::chrono::seconds(kReadTimeout));
      auto [write_ec, written] = co_await http::async_write(stream, out, use_nothrow);
      if (write_ec || !keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    streams_.erase(registration);
  }

  asio::awaitable<void> event_stream(beast::tcp_stream& stream, const Response& response) {
    http::response<http::empty_body> head{http::status::ok, 11};
    head.set(http::field::server, "deploy-dashboard");
    head.set(http::field::content_type, "text/event-stream");
    for (const auto& [name, value] : response.headers) head.insert(name, value);
    head.keep_alive(false);  // the stream ends with the connection
    http::response_serializer<http::empty_body> serializer{head};
    stream.expires_after(std::chrono::seconds(kReadTimeout));
    auto [head_ec, n] = co_await http::async_write_header(stream, serializer, use_nothrow);
    if (head_ec) co_return;
    const auto run_id = response.stream->run_id;
    std::uint64_t offset = response.stream->offset;
    const auto deadline = std::chrono::steady_clock::now() + kStreamLifetime;
    auto last_write = std::chrono::steady_clock::now();
    std::string out = "retry: 2000\n\n";
    asio::steady_timer timer(ioc_);
    while (!stopping_ && std::chrono::steady_clock::now() < deadline) {
      const LogChunk chunk = co_await next_chunk(run_id, offset);
      out += events_of(chunk, offset);
      offset = chunk.next_offset;
      if (chunk.finished) out += "event: end\ndata: " + chunk.outcome + "\n\n";
      if (out.empty() && std::chrono::steady_clock::now() - last_write >= kPingEvery) {
        out = ": still running\n\n";
      }
      if (!out.empty()) {
        stream.expires_after(std::chrono::seconds(kReadTimeout));
        auto [write_ec, written] =
            co_await asio::async_write(stream, asio::buffer(out), use_nothrow);
        if (write_ec) co_return;
        out.clear();
        last_write = std::chrono::steady_clock::now();
      }
      if (chunk.finished || stopping_) co_return;
      // More is waiting when a whole chunk came back: read on without pausing.
      if (chunk.data.size() >= 65536) continue;
      timer.expires_after(kPollEvery);
      co_await timer.async_wait(use_nothrow);
    }
  }

  const common::Config& config_;  // as at start: the listen address does not change
  App& app_;
  std::function<void()> reload_;
  asio::io_context ioc_;
  asio::thread_pool pool_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  std::list<beast::tcp_stream*> streams_;
  bool stopping_ = false;
};

}  // namespace

int serve(const common::Config& config, App& app, std::function<void()> reload) {
  // A log line written to a closed pipe must not kill the dashboard.
  ::signal(SIGPIPE, SIG_IGN);
  Server server(config, app, std::move(reload));
  server.run();
  return 0;
}

}  // namespace dashboard
