// The test HTTPS server; see tls_server.hpp.
#include "tests/deployer/tls_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "tests/support/child.hpp"

namespace test::deployer {

Certificate make_certificate(const std::filesystem::path& dir) {
  Certificate certificate{dir / "cert.pem", dir / "key.pem"};
  auto result = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", certificate.key.string(),
                     "-out", certificate.cert.string(), "-days", "1", "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  if (result.status != 0) throw std::runtime_error("openssl req failed: " + result.output);
  return certificate;
}

namespace {

// The body GitHub's "create a commit status" answers with (docs.github.com, REST, commit
// statuses): the created status on 201, "Validation Failed" on 422, a message otherwise.
std::string github_body(unsigned status, const std::string& request_body) {
  if (status == 201) {
    auto state = request_body.find("\"state\":");
    std::string value = "pending";
    if (state != std::string::npos) {
      auto begin = request_body.find('"', state + 8) + 1;
      value = request_body.substr(begin, request_body.find('"', begin) - begin);
    }
    return R"({"id":1,"node_id":"SC_1","state":")" + value +
           R"(","description":"","target_url":null,"context":"deploy"})";
  }
  if (status == 422) {
    return R"({"message":"Validation Failed","errors":[{"resource":"Status","code":"custom",)"
           R"("message":"This SHA and context has reached the maximum number of statuses."}],)"
           R"("documentation_url":"https://docs.github.com/rest/commits/statuses#create-a-commit-status"})";
  }
  return R"({"message":"Service Unavailable"})";
}

}  // namespace

TlsServer::TlsServer(const Certificate& certificate, unsigned status)
    : TlsServer(certificate, std::vector<unsigned>{status}) {}

TlsServer::TlsServer(const Certificate& certificate, std::vector<unsigned> statuses)
    : statuses_(std::move(statuses)) {
  if (statuses_.empty()) throw std::invalid_argument("TlsServer: no status to answer with");
  context_ = SSL_CTX_new(TLS_server_method());
  if (context_ == nullptr ||
      SSL_CTX_use_certificate_chain_file(context_, certificate.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(context_, certificate.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (context_ != nullptr) SSL_CTX_free(context_);
    throw std::runtime_error("cannot set up the TLS test server's certificate");
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int error = errno;
    if (listen_fd_ >= 0) ::close(listen_fd_);
    SSL_CTX_free(context_);
    throw std::system_error(error, std::generic_category(), "TLS test server listen");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

TlsServer::~TlsServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
  SSL_CTX_free(context_);
}

std::vector<RecordedRequest> TlsServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void TlsServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    handle(fd);
    ::close(fd);
  }
}

void TlsServer::handle(int fd) {
  SSL* ssl = SSL_new(context_);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) {
    ++failed_handshakes_;
    ERR_clear_error();
    SSL_free(ssl);
    return;
  }
  std::string data;
  char buffer[4096];
  std::size_t header_end = std::string::npos;
  std::size_t content_length = 0;
  while (true) {
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string lower = data.substr(0, header_end);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto pos = lower.find("\r\ncontent-length:");
        if (pos != std::string::npos) content_length = std::stoul(lower.substr(pos + 17));
      }
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) break;
    int n = SSL_read(ssl, buffer, sizeof buffer);
    if (n <= 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  if (header_end != std::string::npos) {
    RecordedRequest request;
    std::string head = data.substr(0, header_end);
    auto line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    auto sp1 = request_line.find(' ');
    auto sp2 = request_line.find(' ', sp1 + 1);
    request.method = request_line.substr(0, sp1);
    request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      auto end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(pos, end - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        request.headers[name] = value;
      }
      pos = end + 2;
    }
    request.body = data.substr(header_end + 4, content_length);
    unsigned status = 0;
    std::string body;
    {
      std::lock_guard lock(mutex_);
      status = statuses_[std::min(requests_.size(), statuses_.size() - 1)];
      body = github_body(status, request.body);
      requests_.push_back(std::move(request));
    }
    std::string response = "HTTP/1.1 " + std::to_string(status) +
                           " Status\r\nContent-Type: application/json; charset=utf-8\r\n"
                           "Content-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    SSL_write(ssl, response.data(), static_cast<int>(response.size()));
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
}

}  // namespace test::deployer
