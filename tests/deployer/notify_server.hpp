// A plain-HTTP notification endpoint for the notification tests: listens on a fixed loopback port
// (so it can be stopped, "down", and started again at the same address), reads one request per
// connection, checks X-Deployer-Signature-256 against the raw body itself (test::http::sign, which
// uses OpenSSL directly, not common/signature.cpp), records it and answers 204.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace test::deployer {

struct Notified {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool signature_ok = false;  // the header is present and matches the body under the secret
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

class NotifyServer {
 public:
  NotifyServer(unsigned short port, std::string secret);
  ~NotifyServer();
  NotifyServer(const NotifyServer&) = delete;
  NotifyServer& operator=(const NotifyServer&) = delete;

  /// An answer: status and JSON body.
  struct Reply {
    unsigned status = 204;
    std::string body;
  };
  /// Answers each request with what `responder` returns (called on the server's thread) instead
  /// of 204. Call before start().
  void respond_with(std::function<Reply(const Notified&)> responder) {
    responder_ = std::move(responder);
  }

  /// Listens (throws when the port is taken). Requests recorded before are kept.
  void start();
  /// Stops listening: connections are refused until start().
  void stop();
  std::vector<Notified> received() const;
  std::string url(const std::string& path = "/hook") const;

 private:
  void serve();
  void handle(int fd);

  unsigned short port_;
  std::string secret_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Notified> received_;
  std::function<Reply(const Notified&)> responder_;
  std::thread thread_;
};

}  // namespace test::deployer
