// peer.hpp: a client connection from a chosen loopback address (127.0.0.x), for the attack tests.
//
// Every address of 127.0.0.0/8 is this machine, so binding the client socket to 127.0.0.2,
// 127.0.0.3, ... before connecting gives the receiver distinct peers to count, allow and refuse,
// with all traffic on loopback. Blocking, with a deadline on every call, like tests/support/http.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/http.hpp"

namespace attacks {

class Peer {
 public:
  /// Connects from `source` (an IPv4 loopback address) to 127.0.0.1:port. Throws on failure.
  Peer(const std::string& source, unsigned short port,
       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Peer();
  Peer(Peer&& other) noexcept;
  Peer& operator=(Peer&&) = delete;
  Peer(const Peer&) = delete;

  /// Sends all of `bytes`; false when the server closed or reset the connection meanwhile.
  bool send(std::string_view bytes);
  /// Reads one response (headers and a Content-Length body); nullopt when the connection ends
  /// (EOF, reset, timeout) before a whole response arrived.
  std::optional<test::http::Response> read_response();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

/// VmRSS and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status.
struct Memory {
  long rss_kib = 0;
  long peak_kib = 0;
};
Memory memory_of(int pid);

}  // namespace attacks
