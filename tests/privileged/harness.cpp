// harness.cpp: starting nginx, challtestsrv and pebble, waiting until each accepts connections.
#include "tests/privileged/harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <catch2/catch.hpp>
#include <filesystem>
#include <stdexcept>

#include "tests/support/http.hpp"
#include "tests/support/skip.hpp"

namespace test::privileged {
namespace {

bool accepts(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

void wait_for(unsigned short port, const std::string& what, const std::filesystem::path& log) {
  if (!test::eventually([&] { return accepts(port); }, std::chrono::seconds(20))) {
    std::string text;
    try {
      text = test::read_file(log);
    } catch (...) {
    }
    throw std::runtime_error(what + " did not start on port " + std::to_string(port) + ": " + text);
  }
}

void must_run(const std::vector<std::string>& argv) {
  auto r = test::run(argv, {}, std::chrono::seconds(60));
  if (r.status != 0) throw std::runtime_error(argv[0] + " failed: " + r.output);
}

}  // namespace

Nginx::Nginx(const std::filesystem::path& dir) : dir_(dir), port_(test::free_port()) {
  std::filesystem::create_directories(conf_dir());
  std::filesystem::create_directories(webroot());
  const std::string d = dir_.string();
  test::write_file(dir_ / "nginx.conf",
                   "daemon off;\n"
                   "pid " +
                       d +
                       "/nginx.pid;\n"
                       "error_log " +
                       d +
                       "/error.log;\n"
                       "events { worker_connections 64; }\n"
                       "http {\n"
                       "  access_log off;\n"
                       "  server {\n"
                       "    listen 127.0.0.1:" +
                       std::to_string(port_) +
                       ";\n"
                       "    location /.well-known/acme-challenge/ { root " +
                       webroot().string() +
                       "; }\n"
                       "    location / { return 200 \"base\\n\"; }\n"
                       "  }\n"
                       "  include " +
                       conf_dir().string() +
                       "/*.conf;\n"
                       "}\n");
  process_.emplace(std::vector<std::string>{"/usr/sbin/nginx", "-p", d, "-c", d + "/nginx.conf"},
                   std::map<std::string, std::string>{}, dir_ / "nginx.out");
  wait_for(port_, "nginx", dir_ / "error.log");
}

std::vector<std::string> Nginx::test_argv() const {
  return {"/usr/sbin/nginx", "-t", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string()};
}

std::vector<std::string> Nginx::reload_argv() const {
  return {
      "/usr/sbin/nginx", "-s", "reload", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string()};
}

Pebble::Pebble(const std::filesystem::path& dir, unsigned short http_port)
    : dir_(dir), port_(test::free_port()) {
  std::filesystem::create_directories(dir_);
  const std::string d = dir_.string();
  // A throwaway CA and pebble's TLS certificate for 127.0.0.1; certbot trusts the CA through the
  // policy's ca_bundle.
  must_run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            d + "/ca.key", "-out", d + "/ca.pem", "-days", "2", "-subj",
            "/CN=deploy test ACME CA"});
  must_run({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/tls.key",
            "-out", d + "/tls.csr", "-subj", "/CN=127.0.0.1"});
  test::write_file(dir_ / "ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  must_run({"/usr/bin/openssl", "x509", "-req", "-in", d + "/tls.csr", "-CA", d + "/ca.pem",
            "-CAkey", d + "/ca.key", "-CAcreateserial", "-out", d + "/tls.pem", "-days", "2",
            "-extfile", d + "/ext"});
  const unsigned short dns_port = test::free_port();
  const unsigned short management = test::free_port();
  const nlohmann::json config = {
      {"pebble",
       {{"listenAddress", "127.0.0.1:" + std::to_string(port_)},
        {"managementListenAddress", "127.0.0.1:" + std::to_string(management)},
        {"certificate", d + "/tls.pem"},
        {"privateKey", d + "/tls.key"},
        {"httpPort", http_port},
        {"tlsPort", test::free_port()},
        {"ocspResponderURL", ""},
        {"externalAccountBindingRequired", false}}}};
  test::write_file(dir_ / "pebble.json", config.dump(2));
  // Only the DNS server: every A query answers 127.0.0.1, AAAA nothing (nginx listens on IPv4).
  dns_.emplace(std::vector<std::string>{"/usr/bin/pebble-challtestsrv", "-defaultIPv4", "127.0.0.1",
                                        "-defaultIPv6", "", "-dns01",
                                        "127.0.0.1:" + std::to_string(dns_port), "-http01", "",
                                        "-https01", "", "-tlsalpn01", "", "-management",
                                        "127.0.0.1:" + std::to_string(test::free_port())},
               std::map<std::string, std::string>{}, dir_ / "challtestsrv.log");
  // No artificial validation delay and no rejected nonces: the test measures the real flow.
  pebble_.emplace(std::vector<std::string>{"/usr/bin/pebble", "-config", d + "/pebble.json",
                                           "-dnsserver", "127.0.0.1:" + std::to_string(dns_port)},
                  std::map<std::string, std::string>{{"PEBBLE_VA_NOSLEEP", "1"},
                                                     {"PEBBLE_WFE_NONCEREJECT", "0"}},
                  dir_ / "pebble.log");
  wait_for(port_, "pebble", dir_ / "pebble.log");
}

std::string Pebble::directory_url() const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/dir";
}

Setup::Setup(Acme acme) {
  // Before any folder is made: a skip ends the binary without running destructors.
  test::require_root("it runs nginx's root master and is the root helper's caller");
  // The helper must see a root caller that did not come through sudo, even when the tests were
  // started with sudo.
  for (const char* name : {"SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND"}) ::unsetenv(name);
  nginx_.emplace(dir() / "nginx");
  if (acme == with_acme) pebble_.emplace(dir() / "pebble", nginx_->port());
  policy_ = {{"nginx",
              {{"conf_dir", nginx_->conf_dir().string()},
               {"test", nginx_->test_argv()},
               {"reload", nginx_->reload_argv()}}},
             {"acme",
              {{"server", pebble_ ? pebble_->directory_url() : "https://127.0.0.1:1/dir"},
               {"ca_bundle", pebble_ ? nlohmann::json(pebble_->ca_bundle().string()) : nullptr},
               {"webroot", nginx_->webroot().string()},
               {"email", "ops@example.com"},
               {"config_dir", (dir() / "letsencrypt").string()},
               {"work_dir", (dir() / "letsencrypt-work").string()},
               {"logs_dir", (dir() / "letsencrypt-logs").string()}}},
             {"deployments",
              {{"site-a", {{"sites", {"a.conf"}}, {"domains", {"a.dpl-test.example"}}}},
               {"site-b", {{"sites", {"b.conf"}}, {"domains", {"b.dpl-test.example"}}}}}},
             {"log_file", audit_log().string()}};
  write_policy(policy_);
}

void Setup::write_policy(const nlohmann::json& policy) {
  test::write_file(policy_file(), policy.dump(2));
  std::filesystem::permissions(policy_file(), std::filesystem::perms(0644));
}

test::RunResult Setup::helper(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env) const {
  std::vector<std::string> argv{test::bin("deploy-privileged").string(), "--policy",
                                policy_file().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv, env, std::chrono::seconds(120));
}

std::map<std::string, std::string> Setup::conf_snapshot() const {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(nginx_->conf_dir())) {
    out[e.path().filename().string()] = e.is_symlink() ? "symlink" : test::read_file(e.path());
  }
  return out;
}

std::optional<std::string> Setup::get(unsigned short port) {
  try {
    test::http::Connection c(port, "127.0.0.1", std::chrono::seconds(5));
    auto r = c.request("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    return r.body;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace test::privileged
