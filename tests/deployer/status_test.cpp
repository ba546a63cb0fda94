// Commit statuses, posted by the real deployer to a local HTTPS server with a self-signed
// certificate made by the test (trusted through SSL_CERT_FILE): pending then success, pending then
// failure, with the token only in the Authorization header. A status that cannot be posted (the
// certificate not trusted) neither fails nor holds up the deploy, and a post hanging on a silent
// server does not hold up a shutdown.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/deployer/harness.hpp"
#include "tests/deployer/tls_server.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::sh_step;
using namespace std::chrono_literals;

TEST_CASE("commit statuses go to GitHub's API over HTTPS with the right states", "[deployer]") {
  Harness h;
  auto certificate = test::deployer::make_certificate(h.tmp.path());
  test::deployer::TlsServer server(certificate);
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  auto b = h.origin.commit({{"file.txt", "b\n"}});
  h.clone();
  h.deployment_extra = {{"coalesce", false}};
  h.steps = json::array({sh_step("check", "[ \"$DEPLOY_SHA\" != " + b + " ]")});
  h.config_extra = {
      {"github", {{"api_url", "https://localhost:" + std::to_string(server.port())}}}};
  const std::string token = "ghp_test_token_never_logged";
  h.env = {{"DEPLOYER_TEST_GITHUB_TOKEN", token}, {"SSL_CERT_FILE", certificate.cert.string()}};
  auto good = h.webhook_push(a);
  auto bad = h.webhook_push(b);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", good));
  REQUIRE(h.wait_in("failed", bad));
  REQUIRE(test::eventually([&] { return server.requests().size() >= 4; }, 20s));

  auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  const std::vector<std::pair<std::string, std::string>> expected{
      {a, "pending"}, {a, "success"}, {b, "pending"}, {b, "failure"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& request = requests[i];
    INFO("request " << i << ": " << request.target << " " << request.body);
    CHECK(request.method == "POST");
    CHECK(request.target == "/repos/example/app/statuses/" + expected[i].first);
    CHECK(request.headers.at("authorization") == "Bearer " + token);
    CHECK(request.headers.at("content-type") == "application/json");
    auto body = json::parse(request.body);
    CHECK(body["state"] == expected[i].second);
    CHECK(body["context"] == "deploy/app");
    CHECK_FALSE(body["description"].get<std::string>().empty());
    CHECK(body["description"].get<std::string>().size() <= 140);
  }
  CHECK(json::parse(requests[3].body)["description"].get<std::string>().find("check") !=
        std::string::npos);
  CHECK(h.deployer_log().find(token) == std::string::npos);
  CHECK(h.deployer_log().find("commit status posted") != std::string::npos);
}

TEST_CASE("a status that cannot be posted neither fails nor holds up the deploy", "[deployer]") {
  Harness h;
  auto certificate = test::deployer::make_certificate(h.tmp.path());
  test::deployer::TlsServer server(certificate);
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  auto b = h.origin.commit({{"file.txt", "b\n"}});
  h.clone();
  h.deployment_extra = {{"coalesce", false}};
  h.config_extra = {
      {"github", {{"api_url", "https://localhost:" + std::to_string(server.port())}}}};
  // No SSL_CERT_FILE: the self-signed certificate is not trusted, every attempt fails.
  h.env = {{"DEPLOYER_TEST_GITHUB_TOKEN", "ghp_x"},
           {"SSL_CERT_FILE", "/nonexistent"},
           {"SSL_CERT_DIR", "/nonexistent"}};
  auto first = h.webhook_push(a);
  auto second = h.webhook_push(b);
  auto started = std::chrono::steady_clock::now();
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", first));
  REQUIRE(h.wait_in("done", second));
  // Retries happen in the background (1 s, 2 s, 4 s apart): the deploys did not wait for them.
  CHECK(std::chrono::steady_clock::now() - started < 6s);
  CHECK(h.state_of(second) == "succeeded");
  CHECK(h.wait_log("certificate verify failed"));
  CHECK(server.requests().empty());
  CHECK(server.failed_handshakes() > 0);
}

TEST_CASE("a status post hanging on a silent server does not delay a shutdown", "[deployer]") {
  // A server that completes TCP connections (the kernel does, from the backlog) but never
  // answers: every post waits in the TLS handshake until its 10 s deadline.
  int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(silent >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(silent, 16) == 0);
  REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len) == 0);

  Harness h;
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  h.config_extra = {
      {"github", {{"api_url", "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port))}}}};
  h.env = {{"DEPLOYER_TEST_GITHUB_TOKEN", "ghp_x"}};
  auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  // A post is in progress once its connection waits in the silent server's backlog (the listening
  // socket turns readable): shut down only then.
  pollfd pending{silent, POLLIN, 0};
  REQUIRE(test::eventually([&] { return ::poll(&pending, 1, 0) == 1; }, 10s));
  auto sent = std::chrono::steady_clock::now();
  deployer.signal(SIGTERM);
  auto status = deployer.wait(5s);
  ::close(silent);
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(std::chrono::steady_clock::now() - sent < 3s);
  CHECK(h.deployer_log().find("shutting down with commit statuses not sent") != std::string::npos);
}
