// server.cpp: the listener, the per-connection session coroutine and shutdown (see server.hpp).
//
// The only translation unit that includes Beast. Everything that decides what to answer lives in
// handler.cpp; this file moves bytes, enforces limits and timeouts, and schedules the publish.
#include "receiver/server.hpp"

#include <signal.h>
#include <string.h>

#include <array>
#include <chrono>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

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
#include "common/reload.hpp"
#include "common/status_counters.hpp"
#include "common/version.hpp"
#include "queue-layout/layout.hpp"
#include "receiver/address.hpp"
#include "receiver/handler.hpp"
#include "receiver/inbox.hpp"
#include "receiver/message.hpp"
#include "receiver/settings.hpp"

namespace receiver {
namespace {

using namespace common::net;
using namespace std::chrono_literals;

// How long a closing connection keeps reading (and dropping) what the client still sends, and
// at most how much. See linger_close().
constexpr auto kLingerTime = 1s;
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::size_t kFirstRead = 4096;

// One live connection, as the shutdown and the eviction of idle connections see it.
struct Connection {
  beast::tcp_stream* stream;
  std::string source;  // the peer's address, the key of the per-address count ("" if unknown)
  bool idle = true;    // waiting for a request to start (or lingering): safe to cancel at shutdown
  bool kept_alive = false;  // idle after a request was answered: may be closed to make room
  bool evicted = false;     // cancelled to make room; ends at once
  bool refusal = false;     // a refused connection lingering: never counted, never evicted
  std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();
};

// Bytes of request bodies reserved against receiver.max_buffered_bytes, given back when the
// exchange ends (its body and the entry made from it are gone by then).
class Reservation {
 public:
  explicit Reservation(std::uint64_t& total) : total_(total) {}
  ~Reservation() { total_ -= held_; }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  // Adds `bytes` unless that would pass `budget`.
  bool grow(std::uint64_t bytes, std::uint64_t budget) {
    if (bytes > budget || total_ > budget - bytes) return false;
    total_ += bytes;
    held_ += bytes;
    return true;
  }
  std::uint64_t held() const { return held_; }

 private:
  std::uint64_t& total_;
  std::uint64_t held_ = 0;
};

// How long a client refused for the memory budget is asked to wait.
constexpr unsigned kRetryAfterS = 5;

std::string field_string(beast::string_view s) {
  return std::string(s.data(), s.size());
}

bool is_parse_error(const beast::error_code& ec) {
  static const auto& category = http::make_error_code(http::error::bad_target).category();
  return ec.category() == category && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

// Every X-Forwarded-For value, joined as RFC 9110's list rule says.
std::optional<std::string> forwarded_for(const http::request_header<>& header) {
  std::optional<std::string> out;
  for (const auto& field : header) {
    if (!beast::iequals(field.name_string(), "x-forwarded-for")) continue;
    if (!out) {
      out.emplace();
    } else {
      *out += ", ";
    }
    *out += field_string(field.value());
  }
  return out;
}

Request to_request(http::request<http::string_body>&& message, const std::string& peer,
                   std::chrono::system_clock::time_point received) {
  Request request;
  request.method = field_string(message.method_string());
  request.target = field_string(message.target());
  request.headers.reserve(16);
  for (const auto& field : message) {
    std::string name = field_string(field.name_string());
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    request.headers.push_back({std::move(name), field_string(field.value())});
  }
  request.body = std::move(message.body());
  request.peer = peer;
  request.received = received;
  return request;
}

// The configuration and what is derived from it, swapped whole by a SIGHUP reload. Each request
// holds the one it started with (a shared_ptr) for as long as it runs, so a reload never changes
// the limits or the secrets in the middle of a request.
struct Current {
  common::Config config;
  Settings settings;
};

class Server {
 public:
  Server(const common::Config& config, Settings settings, InboxWriter& inbox,
         common::ConfigReload* reload)
      : current_(std::make_shared<const Current>(Current{config, std::move(settings)})),
        inbox_(inbox),
        reload_(reload),
        ioc_(1),
        pool_(config.receiver.publish_threads),
        acceptor_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM) {
    if (reload_ != nullptr) signals_.add(SIGHUP);
    listen();
  }

  void run() {
    wait_for_signal();
    asio::co_spawn(ioc_, accept_loop(), rethrow_from_run);
    ioc_.run();
    // Every session awaited its publish before finishing, so the pool is idle by now.
    pool_.join();
    common::log::info("stopped");
  }

 private:
  static void rethrow_from_run(std::exception_ptr error) {
    if (error) std::rethrow_exception(error);
  }

  // SIGHUP reloads and goes on waiting; SIGINT or SIGTERM stops.
  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
      if (ec) return;
      if (signal_number != SIGHUP) return stop(signal_number);
      reload();
      wait_for_signal();
    });
  }

  // Takes the file's configuration for the requests that start from now on (reload_refusal
  // says what cannot change in place); a refused one changes nothing.
  void reload() {
    if (!reload_->load(current_->config)) return;
    common::Config next = reload_->take();
    const std::string file = next.file.string();
    try {
      // Read again: a secret file may have changed since the check a moment ago.
      Settings settings = make_settings(next);
      current_ = std::make_shared<const Current>(Current{std::move(next), std::move(settings)});
      common::log::info("configuration in effect", {{"file", current_->config.file.string()}});
    } catch (const std::exception& e) {
      common::log::error("configuration not reloaded: still running on the previous one",
                         {{"file", file}, {"error", e.what()}});
    }
  }

  void listen() {
    const auto& listen = current_->config.listen;
    auto where = listen.host + ":" + std::to_string(listen.port);
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      throw std::runtime_error("listen.host: cannot resolve \"" + listen.host +
                               "\": " + ec.message());
    }
    tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    // A restarted receiver must be able to bind while connections of its previous incarnation
    // are still in TIME_WAIT.
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    auto bound = acceptor_.local_endpoint(ec);
    common::log::info("listening", {{"host", endpoint.address().to_string()},
                                    {"port", static_cast<unsigned>(bound.port())},
                                    {"inbox", inbox_.inbox().string()},
                                    {"publish_threads", current_->config.receiver.publish_threads},
                                    {"version", common::version}});
  }

  // SIGINT/SIGTERM: no new connections; idle ones end now; requests already started finish.
  void stop(int signal_number) {
    stopping_ = true;
    common::log::info("stopping", {{"signal", sigabbrev_np(signal_number)},
                                   {"connections", connections_.size()}});
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (Connection* connection : connections_) {
      if (connection->idle) connection->stream->cancel();
    }
  }

  asio::awaitable<void> accept_loop() {
    while (!stopping_) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
      if (stopping_) break;
      if (ec) {
        if (ec == asio::error::operation_aborted) break;
        common::log::warn("accept failed", {{"error", ec.message()}});
        // Out of descriptors (EMFILE) and the like: pause instead of spinning on the same error.
        asio::steady_timer pause(ioc_, 100ms);
        co_await pause.async_wait(use_nothrow);
        continue;
      }
      beast::error_code ignored;
      // Responses are small and written whole: without this, Nagle's algorithm and the
      // client's delayed ACK can add 40 ms to a keep-alive request.
      socket.set_option(tcp::no_delay(true), ignored);
      admit(std::move(socket));
    }
  }

  // Decides, before reading a byte, whether a new connection gets a session. Everything here is
  // O(connections) at worst, so a flood of connections costs no memory per refused one beyond
  // a bounded number of short refusal coroutines.
  void admit(tcp::socket socket) {
    const auto now = current_;
    const auto& limits = now->config.receiver;
    const Settings& settings = now->settings;
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string source = ec ? std::string() : remote.address().to_string();
    const auto address = parse_client_ip(source);
    const bool proxy = address && in_any(*address, settings.trusted_proxies);
    // A peer that is not a trusted proxy is the client itself: the allowlist applies now,
    // before it can send a body (behind a proxy it applies right after the header).
    if (!proxy && !settings.allow_cidrs.empty()) {
      if (auto refused = refuse_source(settings, source, std::nullopt)) {
        refused->close = true;
        return refuse(std::move(socket), std::move(*refused), "source not allowed");
      }
    }
    // Per address: a proxy carries everyone's requests, so it is exempt.
    const auto counted = per_source_.find(source);
    bool made_room = false;  // a connection closed for this one: its slot counts in the total too
    if (!proxy && counted != per_source_.end() &&
        counted->second >= limits.max_connections_per_ip) {
      if (!evict_idle(&source)) {
        return refuse(std::move(socket), too_many_connections_from(source),
                      "too many connections from one address");
      }
      made_room = true;
    }
    // Near the total cap, idle keep-alive connections make room before anyone is refused.
    if (!made_room && sessions_ >= limits.max_connections - limits.max_connections / 8) {
      const bool evicted = evict_idle(nullptr);
      if (!evicted && sessions_ >= limits.max_connections) {
        return refuse(std::move(socket), too_many_connections(), "too many connections");
      }
    }
    asio::co_spawn(ioc_, session(std::move(socket), source), log_failure);
  }

  // Closes the longest-idle connection (of `source` when given); false when none is idle.
  bool evict_idle(const std::string* source) {
    Connection* oldest = nullptr;
    for (Connection* connection : connections_) {
      // Only kept-alive connections: a new one that has not sent its request yet is bounded by
      // read_timeout_s, and closing it could cut off a client about to send.
      if (!connection->idle || !connection->kept_alive || connection->evicted ||
          connection->refusal) {
        continue;
      }
      if (source != nullptr && connection->source != *source) continue;
      if (oldest == nullptr || connection->idle_since < oldest->idle_since) oldest = connection;
    }
    if (oldest == nullptr) return false;
    oldest->evicted = true;
    oldest->stream->cancel();
    return true;
  }

  static void log_failure(std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      common::log::error("connection failed", {{"error", e.what()}});
    }
  }

  // Keeps a connection in connections_ (for stop()) for as long as its coroutine lives.
  class Registration {
   public:
    Registration(std::list<Connection*>& list, Connection& connection)
        : list_(list), it_(list.insert(list.end(), &connection)) {}
    ~Registration() { list_.erase(it_); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    std::list<Connection*>& list_;
    std::list<Connection*>::iterator it_;
  };

  asio::awaitable<void> session(tcp::socket socket, std::string peer) {
    ++sessions_;
    ++per_source_[peer];
    struct Count {
      Server& server;
      const std::string& peer;
      ~Count() {
        --server.sessions_;
        auto it = server.per_source_.find(peer);
        if (--it->second == 0) server.per_source_.erase(it);
      }
    } count{*this, peer};
    beast::error_code ec;
    beast::tcp_stream stream(std::move(socket));
    Connection self{&stream, peer};
    Registration registration(connections_, self);
    beast::flat_buffer buffer;

    bool first = true;
    while (!stopping_ && !self.evicted) {
      if (buffer.size() == 0) {
        // Wait for the first byte of the next request. This is the only wait stop() and
        // evict_idle() cancel, so a request that has begun to arrive is always finished. A new
        // connection gets the read timeout (it has no business being silent); a kept-alive one
        // the idle timeout.
        self.idle = true;
        self.kept_alive = !first;
        self.idle_since = std::chrono::steady_clock::now();
        const auto& limits = current_->config.receiver;
        stream.expires_after(first ? limits.read_timeout() : limits.idle_timeout());
        auto [read_ec, n] =
            co_await stream.async_read_some(buffer.prepare(kFirstRead), use_nothrow);
        self.idle = false;
        self.kept_alive = false;
        if (read_ec || self.evicted) break;
        buffer.commit(n);
      }
      first = false;
      auto next = co_await exchange(stream, buffer, peer);
      if (next == After::linger) co_await linger_close(stream, self);
      if (next != After::keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }

  enum class After { keep_alive, close, linger };

  // Reads one request (its first bytes are in `buffer`), answers it, and says what to do with
  // the connection next.
  asio::awaitable<After> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                  const std::string& peer) {
    const auto started = std::chrono::steady_clock::now();
    const auto now = current_;  // this request's configuration, whatever a reload does meanwhile
    const auto& limits = now->config.receiver;
    const Settings& settings = now->settings;
    // One deadline for the whole request, header and body: a client that trickles bytes
    // (slowloris) is cut off after read_timeout_s however it paces them.
    stream.expires_after(limits.read_timeout());
    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.header_limit_bytes);
    // A Content-Length above the limit fails at the end of the header, before any body byte is
    // read; a chunked body fails as soon as it passes the limit.
    parser.body_limit(limits.body_limit_bytes);

    auto [ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    const auto received = std::chrono::system_clock::now();
    // RFC 9112 6.3: a request whose Transfer-Encoding does not end in chunked has no knowable
    // length and must be refused; Beast would otherwise read its body until the peer closes
    // (a request-smuggling shape if a proxy in front frames it differently).
    if (!ec && parser.get().count(http::field::transfer_encoding) != 0 && !parser.chunked()) {
      ec = http::error::bad_transfer_encoding;
    }
    // Refused before the body is read (so it never reaches memory): a source outside the
    // allowlist behind a trusted proxy, and a body the memory budget cannot hold.
    std::optional<Response> early;
    Reservation reservation(buffered_);
    if (!ec && !settings.allow_cidrs.empty()) {
      const auto forwarded = forwarded_for(parser.get());
      early = refuse_source(settings, peer,
                            forwarded ? std::optional<std::string_view>(*forwarded) : std::nullopt);
      if (early) early->close = true;
    }
    // Each body is counted twice: the body itself and the entry built from it.
    if (!ec && !early && !parser.is_done() &&
        !reservation.grow(2 * parser.content_length().value_or(0), limits.max_buffered_bytes)) {
      early = too_busy(kRetryAfterS);
    }
    if (!ec && !early && !parser.is_done()) {
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        // curl and others wait for this before sending a body larger than 1 KB.
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        auto [write_ec, n] = co_await http::async_write(stream, go_on, use_nothrow);
        ec = write_ec;
      }
      // Piece by piece, so that a chunked body (no Content-Length) is counted as it grows.
      while (!ec && !parser.is_done()) {
        auto [body_ec, body_bytes] =
            co_await http::async_read_some(stream, buffer, parser, use_nothrow);
        ec = body_ec;
        const std::uint64_t held = 2 * parser.get().body().size();
        if (!ec && held > reservation.held() &&
            !reservation.grow(held - reservation.held(), limits.max_buffered_bytes)) {
          early = too_busy(kRetryAfterS);
          break;
        }
      }
    }

    Response response;
    Decision decision;
    const auto& header = parser.get();
    const unsigned version = parser.is_header_done() ? header.version() : 11;
    const std::string method = field_string(header.method_string());
    const std::string target = field_string(header.target());
    std::size_t body_size = 0;
    std::string entry_name;
    After after = After::linger;
    if (early) {
      response = std::move(*early);
    } else if (ec == http::error::body_limit) {
      response = too_large(limits.body_limit_bytes);
    } else if (ec == http::error::header_limit) {
      response = header_too_large(limits.header_limit_bytes);
    } else if (ec && is_parse_error(ec)) {
      response = malformed_http(ec.message());
    } else if (ec) {
      // Timeout, reset, end of stream in the middle: there is nobody to answer.
      common::log::info(
          "request abandoned",
          {{"method", method}, {"path", target}, {"peer", peer}, {"error", ec.message()}});
      co_return After::close;
    } else {
      const bool keep_alive = header.keep_alive();
      Request request = to_request(parser.release(), peer, received);
      body_size = request.body.size();
      decision = handle_request(request, settings);
      response = std::move(decision.response);
      // Ordering: the 202 is written only after the entry is durable, so a crash or power loss
      // at any point before that never acknowledges a delivery that is not stored.
      if (decision.entry) response = co_await publish(decision, entry_name);
      after = keep_alive && !response.close && !stopping_ ? After::keep_alive : After::close;
      if (response.close) after = After::linger;
    }

    http::response<http::string_body> message{static_cast<http::status>(response.status), version};
    message.set(http::field::server, "deploy-receiver");
    message.set(http::field::content_type, "application/json");
    if (!response.allow.empty()) message.set(http::field::allow, response.allow);
    if (response.retry_after_s != 0)
      message.set(http::field::retry_after, std::to_string(response.retry_after_s));
    message.body() = std::move(response.body);
    message.keep_alive(after == After::keep_alive);
    message.prepare_payload();
    stream.expires_after(limits.read_timeout());
    auto [write_ec, written] = co_await http::async_write(stream, message, use_nothrow);
    counters_.count(response.status);  // for the dashboard's /metrics

    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    common::log::info(
        "request", {{"method", method},
                    {"path", target},
                    {"peer", peer},
                    {"delivery", decision.delivery.empty() ? std::string("-") : decision.delivery},
                    {"event", decision.event.empty() ? std::string("-") : decision.event},
                    {"status", response.status},
                    {"bytes", body_size},
                    {"us", static_cast<long long>(elapsed.count())},
                    {"entry", entry_name.empty() ? std::string("-") : std::move(entry_name)}});
    if (write_ec) co_return After::close;
    co_return after;
  }

  // Runs the publish on the pool and resumes here when it is durable (or has failed); sets
  // `entry_name` on success.
  asio::awaitable<Response> publish(Decision& decision, std::string& entry_name) {
    // The lambda captures only pointers and views into this frame, which outlives the await.
    // With g++ 12, captures that own memory (a moved-in std::string) were destroyed twice
    // here, once with the temporary lambda and once in co_spawn's frame (ASan: double free).
    const std::string_view delivery = decision.delivery;
    const std::string_view entry = *decision.entry;
    auto outcome = co_await asio::co_spawn(
        pool_,
        [this, delivery, entry]() -> asio::awaitable<InboxWriter::Outcome> {
          co_return inbox_.publish(delivery, entry);
        },
        asio::use_awaitable);
    if (outcome.error) {
      common::log::error("publish failed", {{"delivery", decision.delivery},
                                            {"inbox", inbox_.inbox().string()},
                                            {"error", outcome.error.message()}});
      co_return unavailable(outcome.error.message());
    }
    entry_name = outcome.name;
    co_return accepted(outcome.name, decision.delivery);
  }

  // Ends a connection whose client may still be sending (the unread body of a 413): send FIN,
  // then read and drop input for a short while. Closing a socket with unread input sends RST,
  // and a client that receives RST may lose the response it has not read yet.
  asio::awaitable<void> linger_close(beast::tcp_stream& stream, Connection& self) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    self.idle = true;  // nothing left to finish: shutdown may cut this short
    if (stopping_) co_return;
    stream.expires_after(kLingerTime);
    std::array<char, 4096> sink;
    std::size_t dropped = 0;
    while (dropped < kLingerBytes) {
      auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
      if (read_ec) break;
      dropped += n;
    }
  }

  // A connection refused at accept (a source outside the allowlist, too many connections):
  // one short answer, then close. Never a silent close while the number of refusals in
  // progress is bounded; beyond that the socket is simply closed.
  void refuse(tcp::socket socket, Response response, const char* why) {
    if (refusals_ >= current_->config.receiver.max_connections) return;
    asio::co_spawn(ioc_, refusal(std::move(socket), std::move(response), why), log_failure);
  }

  asio::awaitable<void> refusal(tcp::socket socket, Response response, const char* why) {
    ++refusals_;
    struct Count {
      std::uint32_t& n;
      ~Count() { --n; }
    } count{refusals_};
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? std::string() : remote.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    Connection self{&stream, peer};
    Registration registration(connections_, self);
    self.idle = false;
    self.refusal = true;
    const unsigned status = response.status;
    http::response<http::string_body> message{static_cast<http::status>(status), 11};
    message.set(http::field::server, "deploy-receiver");
    message.set(http::field::content_type, "application/json");
    message.body() = std::move(response.body);
    message.keep_alive(false);
    message.prepare_payload();
    stream.expires_after(kLingerTime);
    auto [write_ec, n] = co_await http::async_write(stream, message, use_nothrow);
    counters_.count(status);  // for the dashboard's /metrics
    common::log::warn("connection refused",
                      {{"status", status},
                       {"peer", peer},
                       {"why", why},
                       {"connections", sessions_},
                       {"max_connections", current_->config.receiver.max_connections}});
    if (!write_ec) co_await linger_close(stream, self);
    stream.close();
  }

  std::shared_ptr<const Current> current_;
  InboxWriter& inbox_;
  common::ConfigReload* reload_;  // null: SIGHUP is not handled
  asio::io_context ioc_;
  asio::thread_pool pool_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  std::list<Connection*> connections_;
  std::uint32_t sessions_ = 0;
  std::uint32_t refusals_ = 0;
  std::unordered_map<std::string, std::uint32_t> per_source_;  // sessions per peer address
  std::uint64_t buffered_ = 0;  // body bytes reserved by exchanges in progress
  bool stopping_ = false;
  // state_dir never changes in a reload (refuse_state_dir_change).
  common::StatusCounters counters_{common::receiver_counters_file(current_->config.state_dir)};
};

}  // namespace

std::string reload_refusal(const common::Config& current, const common::Config& next) {
  if (current.listen.host != next.listen.host || current.listen.port != next.listen.port) {
    return "listen changed: that needs a restart of the receiver";
  }
  if (current.receiver.publish_threads != next.receiver.publish_threads) {
    return "receiver.publish_threads changed: that needs a restart of the receiver";
  }
  try {
    make_settings(next);  // every webhook secret readable, the address lists valid
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

int run(const common::Config& config, common::ConfigReload* reload) {
  // A log line written to a closed pipe (the supervisor went away) must not kill the receiver.
  ::signal(SIGPIPE, SIG_IGN);
  auto settings = make_settings(config);  // throws when no webhook secret is set
  InboxWriter inbox(queue_layout::Layout(config.state_dir).inbox());
  if (auto ec = inbox.prepare()) {
    throw std::runtime_error("cannot create " + inbox.inbox().string() + ": " + ec.message());
  }
  Server server(config, std::move(settings), inbox, reload);
  server.run();
  return 0;
}

}  // namespace receiver
