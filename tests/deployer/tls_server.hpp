// A small HTTPS server for the commit-status tests, written against OpenSSL directly (no Beast,
// so it compiles fast and shares no code with the deployer's client). It serves one request per
// connection on 127.0.0.1, answers each request with the next status of a script (bodies shaped
// like GitHub's REST answers), and records what it got.
// make_certificate() creates a self-signed certificate for "localhost" with the openssl CLI; the
// deployer is then told to trust it through SSL_CERT_FILE.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace test::deployer {

struct Certificate {
  std::filesystem::path cert;
  std::filesystem::path key;
};

/// A self-signed certificate (EC P-256) for CN/SAN "localhost" and 127.0.0.1, valid one day.
Certificate make_certificate(const std::filesystem::path& dir);

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class TlsServer {
 public:
  /// Listens on an ephemeral port; answers each request with `status`.
  TlsServer(const Certificate& certificate, unsigned status = 201);
  /// Answers the n-th request with statuses[n], the last one repeated after the end: 201 with
  /// the created status, 422 "Validation Failed", other codes {"message": ...}, as GitHub does.
  TlsServer(const Certificate& certificate, std::vector<unsigned> statuses);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  unsigned short port() const { return port_; }
  std::vector<RecordedRequest> requests() const;
  /// How many TLS handshakes failed (a client refusing the certificate, for example).
  int failed_handshakes() const { return failed_handshakes_; }

 private:
  void serve();
  void handle(int fd);

  SSL_CTX* context_ = nullptr;
  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::vector<unsigned> statuses_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_handshakes_{0};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace test::deployer
