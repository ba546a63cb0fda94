// notify_server.cpp: see notify_server.hpp.
#include "tests/deployer/notify_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "tests/support/http.hpp"

namespace test::deployer {

NotifyServer::NotifyServer(unsigned short port, std::string secret)
    : port_(port), secret_(std::move(secret)) {}

NotifyServer::~NotifyServer() {
  stop();
}

std::string NotifyServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void NotifyServer::start() {
  if (listen_fd_ >= 0) return;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 16) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("notify server: cannot listen on port " + std::to_string(port_) +
                             ": " + error);
  }
  listen_fd_ = fd;
  stop_ = false;
  thread_ = std::thread([this] { serve(); });
}

void NotifyServer::stop() {
  if (listen_fd_ < 0) return;
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
}

std::vector<Notified> NotifyServer::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void NotifyServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void NotifyServer::handle(int fd) {
  std::string data;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::size_t header_end = std::string::npos;
  std::size_t length = 0;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    if (header_end != std::string::npos && data.size() >= header_end + 4 + length) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return;
    data.append(buffer, static_cast<std::size_t>(n));
    if (header_end == std::string::npos &&
        (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::string lower = data.substr(0, header_end);
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (auto at = lower.find("content-length:"); at != std::string::npos) {
        length = std::stoul(lower.substr(at + 15));
      }
    }
  }
  if (header_end == std::string::npos || data.size() < header_end + 4 + length) return;
  Notified request;
  const std::string head = data.substr(0, header_end);
  request.body = data.substr(header_end + 4, length);
  std::size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const auto first = request_line.find(' ');
  request.method = request_line.substr(0, first);
  request.target = request_line.substr(first + 1, request_line.rfind(' ') - first - 1);
  while (line_end != std::string::npos) {
    const auto start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    request.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  auto signature = request.headers.find("x-deployer-signature-256");
  request.signature_ok =
      signature != request.headers.end() && signature->second == http::sign(secret_, request.body);
  const Reply reply = responder_ ? responder_(request) : Reply{};
  {
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(request));
  }
  const std::string answer =
      reply.status == 204
          ? "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
          : "HTTP/1.1 " + std::to_string(reply.status) +
                " Answer\r\nContent-Type: application/json; charset=utf-8\r\n"
                "Content-Length: " +
                std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" + reply.body;
  (void)!::write(fd, answer.data(), answer.size());
}

}  // namespace test::deployer
