// Commit statuses against a local HTTPS server answering as GitHub's REST API does (201 with the
// created status, 422 "Validation Failed", 503): a 503 is retried and then posted, a 422 is not
// retried, a status still failing after the 4th attempt is given up; and a push that is
// superseded or stale gets no status at all. The deployer posts its statuses in order, so "the
// next status arrived" proves that the previous one will not be tried again.
#include <catch2/catch.hpp>

#include "tests/deployer/harness.hpp"
#include "tests/deployer/tls_server.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::RecordedRequest;
using test::deployer::sh_step;
using namespace std::chrono_literals;

namespace {

// Points the deployer at `server` with a token, trusting its certificate.
void use_server(Harness& h, const test::deployer::TlsServer& server,
                const test::deployer::Certificate& certificate) {
  h.config_extra = {
      {"github", {{"api_url", "https://localhost:" + std::to_string(server.port())}}}};
  h.env = {{"DEPLOYER_TEST_GITHUB_TOKEN", "ghp_status_retry_token"},
           {"SSL_CERT_FILE", certificate.cert.string()}};
}

// "<sha> <state>" of each request, in the order the server got them.
std::vector<std::string> posted(const std::vector<RecordedRequest>& requests) {
  std::vector<std::string> out;
  for (const auto& r : requests) {
    const auto sha = r.target.substr(r.target.rfind('/') + 1);
    out.push_back(sha + " " + json::parse(r.body)["state"].get<std::string>());
  }
  return out;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a status answered 503 is retried and then posted", "[deployer]") {
  Harness h;
  auto certificate = test::deployer::make_certificate(h.tmp.path());
  test::deployer::TlsServer server(certificate, {503, 201});
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  use_server(h, server, certificate);
  auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  REQUIRE(test::eventually([&] { return server.requests().size() >= 3; }, 20s));
  CHECK(posted(server.requests()) ==
        std::vector<std::string>{a + " pending", a + " pending", a + " success"});
  // The server has the third request before the deployer has read its answer and logged it.
  CHECK(
      test::eventually([&] { return count(h.deployer_log(), "commit status posted") >= 2; }, 20s));
  const auto log = h.deployer_log();
  INFO(log);
  CHECK(count(log, "commit status not posted, retrying") == 1);
  CHECK(log.find("HTTP 503") != std::string::npos);
  CHECK(count(log, "commit status posted") == 2);
  CHECK(log.find("giving up") == std::string::npos);
}

TEST_CASE("a status answered 422 is not retried", "[deployer]") {
  Harness h;
  auto certificate = test::deployer::make_certificate(h.tmp.path());
  test::deployer::TlsServer server(certificate, {422, 201});
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  use_server(h, server, certificate);
  auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  REQUIRE(test::eventually([&] { return server.requests().size() >= 2; }, 20s));
  // The second request is already the "success": the refused "pending" was not asked again.
  CHECK(posted(server.requests()) == std::vector<std::string>{a + " pending", a + " success"});
  const auto log = h.deployer_log();
  INFO(log);
  CHECK(count(log, "commit status not posted, giving up") == 1);
  CHECK(log.find("HTTP 422") != std::string::npos);
  CHECK(log.find("retrying") == std::string::npos);
}

TEST_CASE("a status still answered 503 after the 4th attempt is given up", "[deployer]") {
  Harness h;
  auto certificate = test::deployer::make_certificate(h.tmp.path());
  test::deployer::TlsServer server(certificate, {503});
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  h.clone();
  use_server(h, server, certificate);
  auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  // 1 + 2 + 4 s of back-off between the four attempts of "pending", then "success" is tried.
  REQUIRE(test::eventually([&] { return server.requests().size() >= 5; }, 30s));
  CHECK(posted(server.requests()) == std::vector<std::string>{a + " pending", a + " pending",
                                                              a + " pending", a + " pending",
                                                              a + " success"});
  const auto log = h.deployer_log();
  INFO(log);
  CHECK(count(log, "commit status not posted, retrying") >= 3);
  CHECK(count(log, "commit status not posted, giving up") == 1);
  CHECK(deployer.running());  // a status never fails the deployer
}

TEST_CASE("superseded and stale pushes get no commit status", "[deployer]") {
  Harness h;
  auto certificate = test::deployer::make_certificate(h.tmp.path());
  test::deployer::TlsServer server(certificate);
  auto a = h.origin.commit({{"file.txt", "a\n"}});
  auto b = h.origin.commit({{"file.txt", "b\n"}});
  auto c = h.origin.commit({{"file.txt", "c\n"}});
  auto d = h.origin.commit({{"file.txt", "d\n"}});
  h.clone();
  h.steps = json::array({sh_step("work", "true")});
  use_server(h, server, certificate);
  // a and b are superseded by c (queued together); b pushed again later is stale.
  auto first = h.webhook_push(a);
  auto second = h.webhook_push(b);
  auto third = h.webhook_push(c);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", third));
  auto again = h.webhook_push(b);
  REQUIRE(h.wait_in("done", again));
  auto fourth = h.webhook_push(d);
  REQUIRE(h.wait_in("done", fourth));
  CHECK(h.state_of(first) == "superseded");
  CHECK(h.state_of(second) == "superseded");
  CHECK(h.state_of(third) == "succeeded");
  CHECK(h.state_of(again) == "stale");
  CHECK(h.state_of(fourth) == "succeeded");
  // Statuses go out in order: once d's "success" arrived, nothing for a or b can follow.
  REQUIRE(test::eventually([&] { return server.requests().size() >= 4; }, 20s));
  CHECK(posted(server.requests()) ==
        std::vector<std::string>{c + " pending", c + " success", d + " pending", d + " success"});
}
