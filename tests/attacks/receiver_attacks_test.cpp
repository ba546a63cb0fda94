// The attacks of issue 15 on the receiver, each against the real binary over loopback: one
// repository's secret deploying another (2), a forged X-Forwarded-For (3), exhaustion before
// authentication (4), terminal escapes in the log (6), the GitHub token over plain HTTP (7) and
// real GitHub event names refused (8). Distinct attackers are distinct loopback addresses
// (127.0.0.x, bound by the client). The figures each test measures are printed on stdout
// ("figure: ..."), and docs/reliability.md quotes them.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>

#include "tests/attacks/peer.hpp"
#include "tests/receiver/receiver_process.hpp"
#include "tests/support/child.hpp"
#include "tests/support/temp_dir.hpp"

using attacks::Peer;
using test::ReceiverProcess;
namespace http = test::http;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kSecretA = "secret-of-repo-a-0b1c";
constexpr const char* kSecretB = "secret-of-repo-b-9f8e";

std::string push_body(const std::string& repository) {
  return nlohmann::json{{"ref", "refs/heads/main"},
                        {"after", std::string(40, 'a')},
                        {"repository", {{"full_name", repository}}}}
      .dump();
}

std::string signed_request(const std::string& body, const std::string& secret,
                           std::vector<std::pair<std::string, std::string>> extra = {},
                           const std::string& event = "push") {
  http::Webhook hook;
  hook.secret = secret;
  hook.body = body;
  hook.event = event;
  hook.extra_headers = std::move(extra);
  return http::webhook_request(hook);
}

int status_from(const std::string& source, unsigned short port, const std::string& raw) {
  Peer peer(source, port);
  REQUIRE(peer.send(raw));
  auto response = peer.read_response();
  REQUIRE(response);
  return response->status;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The receiver's environment with ASan's quarantine off: freed bodies would otherwise stay
// mapped (256 MiB by default) and the RSS figure would measure the sanitizer, not the receiver.
std::map<std::string, std::string> measured_env() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string options = asan != nullptr ? asan : "";
  if (!options.empty()) options += ":";
  return {{"ASAN_OPTIONS", options + "quarantine_size_mb=0"}};
}

}  // namespace

TEST_CASE("attack 2: a repository's own secret deploys it and nothing else") {
  test::ReceiverOptions options;
  auto deployment = [&](const std::string& repository, nlohmann::json secrets) {
    nlohmann::json d = {{"repository", repository},
                        {"branch", "main"},
                        {"path", "/nonexistent/site"},
                        {"steps", nlohmann::json::array()}};
    if (!secrets.is_null()) d["webhook_secrets"] = std::move(secrets);
    return d;
  };
  options.top["deployments"] = {{"a", deployment("org/repo-a", {{{"env", "SECRET_A"}}})},
                                {"b", deployment("org/repo-b", {{{"env", "SECRET_B"}}})},
                                {"b-staging", deployment("org/repo-b", nlohmann::json())},
                                {"c", deployment("org/repo-c", nlohmann::json())}};
  options.env = {{"SECRET_A", kSecretA}, {"SECRET_B", kSecretB}};
  ReceiverProcess receiver(options);
  const auto port = receiver.port();

  // The attack: a push for repo-b signed with repo-a's secret.
  CHECK(status_from("127.0.0.2", port, signed_request(push_body("org/repo-b"), kSecretA)) == 401);
  CHECK(status_from("127.0.0.2", port, signed_request(push_body("ORG/Repo-B"), kSecretA)) == 401);
  // Nor does the default secret deploy a repository that has its own.
  CHECK(status_from("127.0.0.2", port,
                    signed_request(push_body("org/repo-b"), test::kReceiverSecret)) == 401);
  // A repository's secret deploys no repository without its own, and no delivery naming none.
  CHECK(status_from("127.0.0.2", port, signed_request(push_body("org/repo-c"), kSecretB)) == 401);
  CHECK(status_from("127.0.0.2", port, signed_request(R"({"zen":"x"})", kSecretA, {}, "ping")) ==
        401);
  CHECK(receiver.entries().empty());

  CHECK(status_from("127.0.0.2", port, signed_request(push_body("org/repo-b"), kSecretB)) == 202);
  CHECK(status_from("127.0.0.2", port, signed_request(push_body("org/repo-a"), kSecretA)) == 202);
  CHECK(status_from("127.0.0.2", port,
                    signed_request(push_body("org/repo-c"), test::kReceiverSecret)) == 202);
  CHECK(receiver.entries().size() == 3);
}

TEST_CASE("attack 3: X-Forwarded-For is believed only from a trusted proxy") {
  test::ReceiverOptions options;
  options.receiver = {{"allow_cidrs", {"192.30.252.0/22"}}, {"trusted_proxies", {"127.0.0.5/32"}}};
  ReceiverProcess receiver(options);
  const auto port = receiver.port();
  auto with_xff = [](const std::string& value) {
    return signed_request(R"({"zen":"x"})", test::kReceiverSecret, {{"X-Forwarded-For", value}},
                          "ping");
  };
  // The attack: a direct connection naming GitHub's address.
  CHECK(status_from("127.0.0.2", port, with_xff("192.30.252.1")) == 403);
  // Behind the proxy, the client is the rightmost address the proxy did not write itself.
  CHECK(status_from("127.0.0.5", port, with_xff("192.30.252.1")) == 202);
  CHECK(status_from("127.0.0.5", port, with_xff("192.30.252.1, 10.9.8.7")) == 403);
  CHECK(status_from("127.0.0.5", port, with_xff("10.9.8.7, 192.30.252.1")) == 202);
  CHECK(status_from("127.0.0.5", port, with_xff("192.30.252.1, 127.0.0.5")) == 202);
  CHECK(status_from("127.0.0.5", port, with_xff("not-an-address")) == 403);
  CHECK(receiver.entries().size() == 3);

  // The old key fails to load, naming its replacement.
  test::ReceiverOptions old;
  old.receiver = {{"trusted_proxy_hops", 1}};
  old.start = false;
  ReceiverProcess stale(old);
  auto result = test::run({test::bin("receiver").string(), "--config", stale.config().string()},
                          {{"WEBHOOK_SECRET", test::kReceiverSecret}});
  CHECK(result.status == 1);
  CHECK_THAT(result.output, Catch::Contains("receiver.trusted_proxy_hops: was replaced by "
                                            "receiver.trusted_proxies"));
}

TEST_CASE("attack 4a: 512 idle keep-alive connections from one address do not lock others out") {
  for (const bool per_address_limit : {true, false}) {
    INFO("per-address limit in force: " << per_address_limit);
    test::ReceiverOptions options;
    options.env = measured_env();
    // With the limit (as for clients that connect directly), the address's own idle connections
    // make room; without it (the default), closing idle connections near the total cap does.
    options.receiver = {{"max_connections_per_ip", per_address_limit ? 32 : 100000}};
    ReceiverProcess receiver(options);
    const auto port = receiver.port();

    std::vector<std::unique_ptr<Peer>> idle;
    int answered_200 = 0, refused_503 = 0;
    for (int i = 0; i < 512; ++i) {
      auto peer = std::make_unique<Peer>("127.0.0.2", port);
      REQUIRE(peer->send(http::simple_request("GET", "/", true)));
      auto response = peer->read_response();
      if (response && response->status == 200) ++answered_200;
      if (response && response->status == 503) ++refused_503;
      idle.push_back(std::move(peer));
    }
    const auto start = Clock::now();
    const int status = status_from(
        "127.0.0.3", port, signed_request(R"({"zen":"x"})", test::kReceiverSecret, {}, "ping"));
    const double elapsed = ms_since(start);
    const auto memory = attacks::memory_of(receiver.child().pid());
    std::cout << "figure: attack 4a ("
              << (per_address_limit ? "max_connections_per_ip 32" : "no per-address limit")
              << "): 512 idle GET / from 127.0.0.2 (" << answered_200 << " answered 200, "
              << refused_503 << " refused 503); valid delivery from 127.0.0.3: " << status << " in "
              << elapsed << " ms; receiver RSS " << memory.rss_kib / 1024 << " MiB, peak "
              << memory.peak_kib / 1024 << " MiB\n";
    CHECK(status == 202);
    CHECK(elapsed < 1000);
    CHECK(answered_200 + refused_503 == 512);
    CHECK(memory.peak_kib < 64 * 1024 + 64 * 1024);
  }
}

namespace {

// One attacker: a 25 MiB body, sent in 64 KiB pieces until an answer arrives (the receiver
// answers refused peers at once and stops reading). Returns the status, 0 when none came.
int flood_once(const std::string& source, unsigned short port, const std::string& head,
               std::size_t body_bytes) {
  try {
    Peer peer(source, port, 30s);
    if (!peer.send(head)) return 0;
    const std::string piece(64 * 1024, ' ');
    std::size_t sent = 0;
    while (sent < body_bytes) {
      pollfd p{peer.fd(), POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) break;  // an answer (or the close) is waiting
      if (!peer.send(
              std::string_view(piece).substr(0, std::min(piece.size(), body_bytes - sent)))) {
        break;
      }
      sent += piece.size();
    }
    auto response = peer.read_response();
    return response ? response->status : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

struct FloodFigures {
  std::map<int, int> statuses;  // status -> count (0: no answer)
  int valid_status = 0;
  double valid_ms = 0;
  attacks::Memory memory;
};

FloodFigures flood(ReceiverProcess& receiver, const std::string& prefix) {
  constexpr std::size_t kBody = 25 * 1024 * 1024;
  // A signature that matches nothing: a body the receiver reads whole is refused with 401
  // afterwards, so nothing is written and only memory is at stake.
  http::Webhook hook;
  hook.secret = "not-the-secret";
  hook.body = std::string(kBody, ' ');
  auto raw = http::webhook_request(hook);
  const std::string head = raw.substr(0, raw.find("\r\n\r\n") + 4);

  FloodFigures figures;
  std::mutex mutex;
  std::vector<std::thread> attackers;
  std::atomic<int> done{0};
  for (int i = 0; i < 32; ++i) {
    attackers.emplace_back([&, i] {
      const int status = flood_once(prefix + std::to_string(i + 1), receiver.port(), head, kBody);
      std::lock_guard lock(mutex);
      ++figures.statuses[status];
      ++done;
    });
  }
  std::this_thread::sleep_for(200ms);  // the bodies are on their way
  const auto start = Clock::now();
  figures.valid_status =
      status_from("127.0.0.3", receiver.port(),
                  signed_request(R"({"zen":"x"})", test::kReceiverSecret, {}, "ping"));
  figures.valid_ms = ms_since(start);
  for (auto& t : attackers) t.join();
  figures.memory = attacks::memory_of(receiver.child().pid());
  return figures;
}

std::string describe(const std::map<int, int>& statuses) {
  std::string out;
  for (const auto& [status, count] : statuses) {
    out += (out.empty() ? "" : ", ") + std::to_string(count) + " x " +
           (status == 0 ? std::string("no answer") : std::to_string(status));
  }
  return out;
}

}  // namespace

TEST_CASE("attack 4b: 32 concurrent 25 MiB bodies from refused addresses") {
  test::ReceiverOptions options;
  options.env = measured_env();
  options.receiver = {{"allow_cidrs", {"127.0.0.3/32"}}};
  ReceiverProcess receiver(options);
  const auto figures = flood(receiver, "127.0.1.");
  std::cout << "figure: attack 4b: 32 concurrent 25 MiB bodies from refused addresses: "
            << describe(figures.statuses)
            << "; valid delivery from 127.0.0.3: " << figures.valid_status << " in "
            << figures.valid_ms << " ms; receiver peak RSS " << figures.memory.peak_kib / 1024
            << " MiB (limit 64 MiB + 64 MiB budget)\n";
  CHECK(figures.statuses == std::map<int, int>{{403, 32}});
  CHECK(figures.valid_status == 202);
  CHECK(figures.valid_ms < 1000);
  CHECK(figures.memory.peak_kib < (64 + 64) * 1024);
}

TEST_CASE("attack 4c: 32 concurrent 25 MiB bodies from allowed addresses stay within the budget") {
  test::ReceiverOptions options;
  options.env = measured_env();
  ReceiverProcess receiver(options);
  const auto figures = flood(receiver, "127.0.2.");
  std::cout << "figure: attack 4c: 32 concurrent 25 MiB unauthenticated bodies, max_buffered_bytes "
               "64 MiB: "
            << describe(figures.statuses)
            << "; valid delivery from 127.0.0.3: " << figures.valid_status << " in "
            << figures.valid_ms << " ms; receiver peak RSS " << figures.memory.peak_kib / 1024
            << " MiB (limit 64 MiB + 64 MiB budget)\n";
  CHECK(figures.statuses.count(503) == 1);  // beyond the budget: 503 with Retry-After
  CHECK(figures.valid_status == 202);
  CHECK(figures.valid_ms < 1000);
  CHECK(figures.memory.peak_kib < (64 + 64) * 1024);

  // The refusal says when to come back.
  http::Webhook hook;
  hook.secret = test::kReceiverSecret;
  hook.body = std::string(10 * 1024 * 1024, ' ');
  auto raw = http::webhook_request(hook);
  test::ReceiverOptions small;
  small.receiver = {{"max_buffered_bytes", 1 << 20}};
  ReceiverProcess tight(small);
  Peer peer("127.0.0.4", tight.port());
  REQUIRE(peer.send(raw.substr(0, raw.find("\r\n\r\n") + 4)));
  auto response = peer.read_response();
  REQUIRE(response);
  CHECK(response->status == 503);
  CHECK(response->header("retry-after").has_value());
  CHECK(tight.entries().empty());
}

TEST_CASE("attack 4d: a refused address gets a short 403, never a silent close") {
  test::ReceiverOptions options;
  options.receiver = {{"allow_cidrs", {"127.0.0.3/32"}}};
  ReceiverProcess receiver(options);
  Peer peer("127.0.0.9", receiver.port());
  // Nothing sent at all: the answer comes at accept.
  auto response = peer.read_response();
  REQUIRE(response);
  CHECK(response->status == 403);
  CHECK(response->header("connection") == "close");
  CHECK_THAT(response->body, Catch::Contains("127.0.0.9"));
}

TEST_CASE("attack 6: C1 controls in a request target are escaped in the receiver's log") {
  ReceiverProcess receiver;
  Peer peer("127.0.0.2", receiver.port());
  // U+009B (a one-character CSI) encoded, then as a raw byte: Beast takes both in a target.
  REQUIRE(
      peer.send("GET /\xc2\x9b"
                "31m\x9b"
                "2J HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto response = peer.read_response();
  REQUIRE(response);
  CHECK(response->status == 404);
  REQUIRE(test::eventually([&] { return receiver.log().find(" path=") != std::string::npos; }));
  const auto log = receiver.log();
  INFO(log);
  CHECK(log.find("\xc2\x9b") == std::string::npos);
  CHECK(log.find('\x9b') == std::string::npos);
  CHECK_THAT(log, Catch::Contains("path=\"/\\u009b31m\\x9b2J\""));
}

TEST_CASE("attack 7: a plain-HTTP GitHub API URL is refused unless it is loopback") {
  test::TempDir dir("attacks-api-url");
  auto check = [&](const std::string& url) {
    const nlohmann::json config = {
        {"instance", "attacks"},
        {"state_dir", "var"},
        {"allow_root", true},
        {"github", {{"api_url", url}}},
        {"deployments",
         {{"site",
           {{"repository", "example/app"},
            {"branch", "main"},
            {"path", (dir / "site").string()},
            {"steps", nlohmann::json::array()}}}}},
    };
    test::write_file(dir / "deployer.json", config.dump(2));
    return test::run({test::bin("deployctl").string(), "--config", (dir / "deployer.json").string(),
                      "check-config"},
                     {{"WEBHOOK_SECRET", test::kReceiverSecret}});
  };
  const auto refused = check("http://api.example.com");
  CHECK(refused.status == 1);
  CHECK_THAT(refused.output,
             Catch::Contains("github.api_url: http:// is allowed only for a loopback host"));
  for (const char* url : {"http://127.0.0.1:9", "http://[::1]:9/api", "http://localhost:9"}) {
    INFO(url);
    CHECK(check(url).status == 0);
  }
}

TEST_CASE("attack 8: every GitHub event name is accepted and stored") {
  ReceiverProcess receiver;
  for (const char* event : {"projects_v2_item", "security_and_analysis", "sub_issues"}) {
    CHECK(status_from("127.0.0.2", receiver.port(),
                      signed_request(R"({"action":"edited"})", test::kReceiverSecret, {}, event)) ==
          202);
  }
  const auto entries = receiver.entries();
  REQUIRE(entries.size() == 3);
  CHECK_THAT(receiver.entry_text(entries[0]), Catch::Contains(R"("event":"projects_v2_item")"));
  CHECK(status_from("127.0.0.2", receiver.port(),
                    signed_request("{}", test::kReceiverSecret, {}, "Projects-V2")) == 400);
}
