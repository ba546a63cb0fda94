// tcp_relay.cpp: see tcp_relay.hpp.
#include "tests/support/tcp_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <system_error>
#include <vector>

namespace test {
namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;  // per direction of each connection

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), "tcp relay: " + what);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// One direction of a relayed connection: bytes read from `from` wait in `buffer` for `to`.
struct Direction {
  int* from;
  int* to;
  std::string buffer;
  bool eof = false;   // `from` said it sends nothing more
  bool shut = false;  // ... and that was passed on: shutdown(to, SHUT_WR)
};

struct Pair {
  int client = -1;
  int server = -1;
  Direction up{&client, &server, {}};
  Direction down{&server, &client, {}};
  bool dead = false;

  Pair() = default;
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;
  ~Pair() {
    close_fd(client);
    close_fd(server);
  }
};

// A blocking connect to the target, bounded by a send timeout (connect honours SO_SNDTIMEO), then
// non-blocking for the poll loop. -1 when the target refuses or does not answer.
int connect_to(const sockaddr_in& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0 ||
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Moves what it can in one direction; false when the connection is broken.
bool pump(Direction& d, short from_events, short to_events) {
  if (!d.eof && d.buffer.size() < kBufferBytes && (from_events & (POLLIN | POLLHUP | POLLERR))) {
    char chunk[16 * 1024];
    const auto room = std::min(sizeof chunk, kBufferBytes - d.buffer.size());
    const ssize_t n = ::read(*d.from, chunk, room);
    if (n > 0) {
      d.buffer.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      d.eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;
    }
  }
  if (!d.buffer.empty() && (to_events & (POLLOUT | POLLERR | POLLHUP))) {
    const ssize_t n = ::send(*d.to, d.buffer.data(), d.buffer.size(), MSG_NOSIGNAL);
    if (n > 0) {
      d.buffer.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;
    }
  }
  if (d.eof && d.buffer.empty() && !d.shut) {
    // Half-close passed on: the other side still gets whatever comes back.
    ::shutdown(*d.to, SHUT_WR);
    d.shut = true;
  }
  return true;
}

short wanted(const Direction& reading, const Direction& writing) {
  short events = 0;
  if (!reading.eof && reading.buffer.size() < kBufferBytes) events |= POLLIN;
  if (!writing.buffer.empty()) events |= POLLOUT;
  return events;
}

}  // namespace

TcpRelay::TcpRelay(std::string target_host, unsigned short target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener_ < 0) fail("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int saved = errno;
    close_fd(listener_);
    errno = saved;
    fail("listening on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int saved = errno;
    close_fd(listener_);
    errno = saved;
    fail("eventfd");
  }
  thread_ = std::thread([this] { loop(); });
}

TcpRelay::~TcpRelay() {
  stop_ = true;
  wake();
  thread_.join();
  close_fd(listener_);
  close_fd(wake_fd_);
}

void TcpRelay::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void TcpRelay::cut() {
  cut_ = true;
  std::unique_lock lock(mutex_);
  const unsigned generation = ++cut_requested_;
  wake();
  // Bounded: the loop applies a cut at its next turn (it polls at most 200 ms).
  cut_done_.wait_for(lock, std::chrono::seconds(10),
                     [&] { return cut_applied_ >= generation || stop_; });
}

void TcpRelay::restore() {
  cut_ = false;
}

void TcpRelay::loop() {
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(target_port_);
  if (::inet_pton(AF_INET, target_host_.c_str(), &target.sin_addr) != 1) {
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // "localhost" and the like
  }
  std::vector<std::unique_ptr<Pair>> pairs;
  std::vector<pollfd> fds;
  while (!stop_) {
    {
      std::lock_guard lock(mutex_);
      if (cut_applied_ != cut_requested_) {
        dropped_ += pairs.size();
        pairs.clear();  // closes both sockets of each: the client and the target see EOF
        cut_applied_ = cut_requested_;
        cut_done_.notify_all();
      }
    }
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listener_, POLLIN, 0});
    for (const auto& pair : pairs) {
      fds.push_back({pair->client, wanted(pair->up, pair->down), 0});
      fds.push_back({pair->server, wanted(pair->down, pair->up), 0});
    }
    if (::poll(fds.data(), fds.size(), 200) < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen with valid descriptors; the destructor still joins
    }
    if (fds[0].revents != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto got = ::read(wake_fd_, &count, sizeof count);
    }
    // Each pair's events before new connections are added (fds[2 + 2i] is pair i's).
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      Pair& pair = *pairs[i];
      const short client = fds[2 + 2 * i].revents;
      const short server = fds[3 + 2 * i].revents;
      if (!pump(pair.up, client, server) || !pump(pair.down, server, client)) pair.dead = true;
      if (pair.up.shut && pair.down.shut) pair.dead = true;
      // An error on either socket: the connection is broken.
      if (((client | server) & POLLERR) != 0) pair.dead = true;
    }
    std::erase_if(pairs, [](const auto& pair) { return pair->dead; });
    if (fds[1].revents & POLLIN) {
      for (int accepted = 0; accepted < 16; ++accepted) {  // bounded per turn
        const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client < 0) break;
        if (cut_ || pairs.size() >= kMaxConnections) {
          ::close(client);
          ++dropped_;
          continue;
        }
        const int server = connect_to(target);
        if (server < 0) {
          ::close(client);  // the target refused: so does the relay
          continue;
        }
        auto pair = std::make_unique<Pair>();
        pair->client = client;
        pair->server = server;
        pairs.push_back(std::move(pair));
        ++forwarded_;
      }
    }
  }
  pairs.clear();
  std::lock_guard lock(mutex_);
  cut_applied_ = cut_requested_;
  cut_done_.notify_all();
}

}  // namespace test
