// A TCP relay on loopback for partition tests (docs/hosts.md "When things fail"): it listens on
// 127.0.0.1 (a port of its own), forwards every accepted connection to a target host:port, and can
// be cut: cut() closes every open connection at once and, until restore(), closes each new one
// as soon as it is accepted, so a program connecting through it sees its peer vanish as it would
// behind a failed link, while the target itself (e.g. PostgreSQL) keeps running for everyone else.
//
// One thread does all the work (poll(2) over the listening socket and every connection's two
// sockets); it is bounded in connections and buffered bytes, and the destructor stops it and closes
// everything. Not copyable or movable (the thread holds `this`).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace test {

class TcpRelay {
 public:
  /// Connections open at once beyond this are closed as soon as they are accepted.
  static constexpr std::size_t kMaxConnections = 128;

  /// Listens on 127.0.0.1:0 and starts forwarding to target_host:target_port (an IPv4 address).
  /// Throws std::system_error when the socket cannot be set up.
  TcpRelay(std::string target_host, unsigned short target_port);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  /// The port the relay listens on.
  unsigned short port() const { return port_; }

  /// Closes every connection open through the relay and refuses (accepts and closes at once)
  /// new ones until restore(). Returns once they are closed.
  void cut();
  /// Forwards new connections again.
  void restore();
  bool is_cut() const { return cut_.load(); }

  /// Connections forwarded to the target so far (not counting those closed at once while cut).
  std::size_t forwarded() const { return forwarded_.load(); }
  /// Connections closed by cut() or refused while cut so far.
  std::size_t dropped() const { return dropped_.load(); }

 private:
  void loop();
  void wake();

  std::string target_host_;
  unsigned short target_port_;
  int listener_ = -1;
  int wake_fd_ = -1;  // an eventfd: cut() and the destructor interrupt poll() with it
  unsigned short port_ = 0;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> forwarded_{0};
  std::atomic<std::size_t> dropped_{0};
  // cut() waits until the thread has closed what was open: generations requested and done.
  std::mutex mutex_;
  std::condition_variable cut_done_;
  unsigned cut_requested_ = 0;
  unsigned cut_applied_ = 0;
  std::thread thread_;
};

}  // namespace test
