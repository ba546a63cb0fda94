// The attacks of issue 15 on the receiver, each against the real binary over loopback: terminal
// escapes in the log (6), the GitHub token over plain HTTP (7) and real GitHub event names
// refused (8). Distinct attackers are distinct loopback addresses
// (127.0.0.x, bound by the client). The figures each test measures are printed on stdout
// ("figure: ..."), and docs/reliability.md quotes them.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
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

}  // namespace

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
