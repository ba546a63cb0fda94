// http.cpp: the blocking test HTTP client (see http.hpp).
#include "tests/support/http.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace test::http {
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string shorten(std::string_view s) {
  return std::string(s.substr(0, 300)) + (s.size() > 300 ? "..." : "");
}

int connect_to(const std::string& host, unsigned short port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("http: bad address " + host + ": " + gai_strerror(rc));
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    throw std::system_error(errno, std::generic_category(), "http: socket");
  }
  int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  int error = errno;
  freeaddrinfo(found);
  if (rc != 0) {
    ::close(fd);
    throw std::system_error(error, std::generic_category(),
                            "http: connect to " + host + ":" + service);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  auto wanted = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == wanted) return v;
  }
  return std::nullopt;
}

nlohmann::json Response::json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception&) {
    throw std::runtime_error("http: response " + std::to_string(status) +
                             " has no JSON body: " + shorten(body));
  }
}

Connection::Connection(unsigned short port, const std::string& host,
                       std::chrono::milliseconds timeout)
    : fd_(connect_to(host, port)), timeout_(timeout) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

Connection::Connection(Connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      buffer_(std::move(other.buffer_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void Connection::send(std::string_view bytes) {
  auto deadline = Clock::now() + timeout_;
  while (!bytes.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      throw std::runtime_error("http: timed out sending (" + std::to_string(bytes.size()) +
                               " bytes left)");
    }
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw std::system_error(errno, std::generic_category(), "http: send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool Connection::fill(Clock::time_point deadline) {
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw std::runtime_error("http: timed out waiting for the response");
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) throw std::runtime_error("http: timed out waiting for the response");
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET) return false;
      throw std::system_error(errno, std::generic_category(), "http: recv");
    }
    if (n == 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

Response Connection::read_response() {
  auto deadline = Clock::now() + timeout_;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) {
      throw std::runtime_error("http: connection closed before a response header (got \"" +
                               shorten(buffer_) + "\")");
    }
  }
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);

  Response r;
  auto line_end = head.find("\r\n");
  std::string_view status_line = std::string_view(head).substr(0, line_end);
  if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12) {
    throw std::runtime_error("http: bad status line: " + shorten(status_line));
  }
  auto code = status_line.substr(9, 3);
  std::from_chars(code.data(), code.data() + 3, r.status);
  r.reason = std::string(trim(status_line.substr(std::min<std::size_t>(13, status_line.size()))));
  std::string_view rest = line_end == std::string::npos
                              ? std::string_view()
                              : std::string_view(head).substr(line_end + 2);
  while (!rest.empty()) {
    auto eol = rest.find("\r\n");
    auto line = rest.substr(0, eol);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) throw std::runtime_error("http: bad header line");
    r.headers.emplace_back(lower(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))));
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 2);
  }

  if (r.status / 100 == 1 || r.status == 204 || r.status == 304) return r;
  if (auto length = r.header("content-length")) {
    std::size_t n = 0;
    std::from_chars(length->data(), length->data() + length->size(), n);
    while (buffer_.size() < n) {
      if (!fill(deadline)) throw std::runtime_error("http: connection closed inside a body");
    }
    r.body = buffer_.substr(0, n);
    buffer_.erase(0, n);
  } else if (auto te = r.header("transfer-encoding"); te && lower(*te) == "chunked") {
    while (true) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill(deadline)) throw std::runtime_error("http: connection closed inside a chunk");
      }
      std::size_t size = 0;
      std::from_chars(buffer_.data(), buffer_.data() + eol, size, 16);
      while (buffer_.size() < eol + 2 + size + 2) {
        if (!fill(deadline)) throw std::runtime_error("http: connection closed inside a chunk");
      }
      r.body += buffer_.substr(eol + 2, size);
      buffer_.erase(0, eol + 2 + size + 2);
      if (size == 0) break;
    }
  } else {
    while (fill(deadline)) {
    }
    r.body = std::move(buffer_);
    buffer_.clear();
  }
  return r;
}

Response Connection::request(std::string_view bytes) {
  send(bytes);
  while (true) {
    Response r = read_response();
    if (r.status / 100 != 1) return r;
  }
}

bool Connection::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  try {
    while (true) {
      buffer_.clear();
      if (!fill(deadline)) return true;
    }
  } catch (const std::runtime_error&) {
    return false;  // timed out with the connection still open
  }
}

void Connection::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

std::string sign(std::string_view secret, std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

std::string random_delivery() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
    id.push_back(hex[engine() & 15]);
  }
  return id;
}

std::string webhook_request(const Webhook& hook) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", "127.0.0.1"},
      {"User-Agent", "GitHub-Hookshot/044aadd"},
      {"Accept", "*/*"},
      {"Content-Type", hook.content_type},
      {"X-GitHub-Event", hook.event},
      {"X-GitHub-Delivery", hook.delivery.empty() ? random_delivery() : hook.delivery},
      {"X-GitHub-Hook-ID", hook.hook_id},
      {"X-GitHub-Hook-Installation-Target-Type", "repository"},
      {"X-Hub-Signature-256", hook.signature ? *hook.signature : sign(hook.secret, hook.body)},
  };
  if (hook.chunked) {
    headers.emplace_back("Transfer-Encoding", "chunked");
  } else {
    headers.emplace_back("Content-Length", std::to_string(hook.body.size()));
  }
  headers.emplace_back("Connection", hook.keep_alive ? "keep-alive" : "close");
  for (const auto& h : hook.extra_headers) headers.push_back(h);

  std::string out = "POST " + hook.path + " HTTP/1.1\r\n";
  for (const auto& [name, value] : headers) {
    bool omitted = std::any_of(hook.omit.begin(), hook.omit.end(),
                               [&](const std::string& o) { return lower(o) == lower(name); });
    if (!omitted) out += name + ": " + value + "\r\n";
  }
  out += "\r\n";
  if (hook.chunked) {
    for (std::size_t at = 0; at < hook.body.size(); at += 1000) {
      auto piece = std::string_view(hook.body).substr(at, 1000);
      char size[32];
      auto [end, ec] = std::to_chars(size, size + sizeof size, piece.size(), 16);
      out.append(size, end);
      out += "\r\n";
      out += piece;
      out += "\r\n";
    }
    out += "0\r\n\r\n";
  } else {
    out += hook.body;
  }
  return out;
}

std::string simple_request(std::string_view method, std::string_view path, bool keep_alive) {
  std::string out(method);
  out += " ";
  out += path;
  out += " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: deploy-tests\r\nConnection: ";
  out += keep_alive ? "keep-alive" : "close";
  out += "\r\n\r\n";
  return out;
}

Response roundtrip(unsigned short port, std::string_view raw, std::chrono::milliseconds timeout) {
  Connection c(port, "127.0.0.1", timeout);
  return c.request(raw);
}

bool wait_for_port(unsigned short port, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    try {
      Connection c(port, "127.0.0.1", std::chrono::milliseconds(500));
      return true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return false;
}

}  // namespace test::http
