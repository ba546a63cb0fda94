// http_post.cpp: see http_post.hpp.
#include "deployctl/http_post.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "deployctl/commands.hpp"

namespace deployctl {
namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string connect_host(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

std::string host_header(const std::string& host, unsigned port) {
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

// Tries each address getaddrinfo gives; SO_SNDTIMEO bounds connect(2) as well on Linux.
int connect_to(const std::string& host, unsigned port, std::chrono::seconds timeout,
               const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw Failure("cannot connect to the receiver at " + where + ": " + ::gai_strerror(rc));
  }
  std::string error = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count());
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      error = errno == EINPROGRESS ? "timed out" : std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    throw Failure("cannot connect to the receiver at " + where + ": " + error +
                  " (is it running? `pm2 ls` shows it)");
  }
  return fd;
}

void send_all(int fd, const std::string& bytes, const std::string& where) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw Failure("cannot send the request to the receiver at " + where + ": " +
                    (errno == EAGAIN ? std::string("timed out") : std::strerror(errno)));
    }
    sent += static_cast<std::size_t>(n);
  }
}

std::optional<std::size_t> content_length(const std::string& head) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    const auto end = head.find("\r\n", pos);
    const std::string line = head.substr(pos, end == std::string::npos ? end : end - pos);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "content-length") continue;
    try {
      return static_cast<std::size_t>(std::stoull(line.substr(colon + 1)));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

HttpAnswer parse_answer(const std::string& data, const std::string& where) {
  const auto head_end = data.find("\r\n\r\n");
  const auto status_end = data.find("\r\n");
  // "HTTP/1.1 202 Accepted"
  if (head_end == std::string::npos || data.compare(0, 5, "HTTP/") != 0) {
    throw Failure("the receiver at " + where + " did not answer with HTTP (got " +
                  std::to_string(data.size()) + " bytes)");
  }
  const std::string status_line = data.substr(0, status_end);
  const auto first_space = status_line.find(' ');
  HttpAnswer answer;
  try {
    answer.status = std::stoi(status_line.substr(first_space + 1, 3));
  } catch (const std::exception&) {
    throw Failure("the receiver at " + where + " sent a malformed status line");
  }
  if (status_line.size() > first_space + 5) answer.reason = status_line.substr(first_space + 5);
  answer.body = data.substr(head_end + 4);
  if (const auto length = content_length(data.substr(0, head_end + 2))) {
    if (answer.body.size() > *length) answer.body.resize(*length);
  }
  return answer;
}

}  // namespace

HttpAnswer http_post(const std::string& host, unsigned port, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     const std::string& body, std::chrono::seconds timeout) {
  const std::string target = connect_host(host);
  const std::string where = host_header(target, port);
  Socket socket(connect_to(target, port, timeout, where));
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: " + where + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  request += body;
  send_all(socket.fd(), request, where);

  std::string data;
  char buffer[16384];
  while (data.size() < (1u << 20)) {
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw Failure("the receiver at " + where + " did not answer: " +
                    (errno == EAGAIN ? std::string("timed out") : std::strerror(errno)));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
    // Stop once the whole body announced by Content-Length is in.
    const auto head_end = data.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    const auto length = content_length(data.substr(0, head_end + 2));
    if (length && data.size() >= head_end + 4 + *length) break;
  }
  return parse_answer(data, where);
}

}  // namespace deployctl
