// The real receiver's life: refusing to start, stopping on SIGTERM/SIGINT, finishing requests.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

#include "common/entry.hpp"
#include "tests/receiver/receiver_process.hpp"
#include "tests/support/skip.hpp"

using test::ReceiverProcess;
namespace http = test::http;
using namespace std::chrono_literals;

namespace {

// True once the server side of `client` (an IPv4 loopback connection) has read everything sent
// so far: its receive queue in /proc/net/tcp is empty. Replaces a guess of "long enough".
bool server_has_read(const http::Connection& client, unsigned short server_port) {
  sockaddr_in local{};
  socklen_t length = sizeof local;
  if (::getsockname(client.fd(), reinterpret_cast<sockaddr*>(&local), &length) != 0) return false;
  char wanted[64];
  std::snprintf(wanted, sizeof wanted, ":%04X %08X:%04X", server_port, 0x0100007Fu,
                ntohs(local.sin_port));
  std::istringstream table(test::read_file("/proc/net/tcp"));
  std::string line;
  while (std::getline(table, line)) {
    auto at = line.find(wanted);
    if (at == std::string::npos) continue;
    // "... local rem st tx_queue:rx_queue ...": the queues follow the state field.
    std::istringstream fields(line.substr(at + std::strlen(wanted)));
    std::string state, queues;
    fields >> state >> queues;
    return queues.size() == 17 && queues.substr(9) == "00000000";
  }
  return false;
}

}  // namespace

TEST_CASE("the receiver refuses to start without a webhook secret, in one line") {
  test::ReceiverOptions options;
  options.with_secret = false;
  options.start = false;
  options.env = {{"WEBHOOK_SECRET", ""}};  // set but empty counts as missing
  ReceiverProcess receiver(options);
  auto result = test::run({test::bin("receiver").string(), "--config", receiver.config().string()},
                          {{"WEBHOOK_SECRET", ""}}, 20s);
  CHECK(result.status == 1);
  CHECK_THAT(result.output, Catch::Contains("WEBHOOK_SECRET"));
  CHECK(std::count(result.output.begin(), result.output.end(), '\n') == 1);
  // It did not listen.
  CHECK_FALSE(http::wait_for_port(receiver.port(), 200ms));
}

TEST_CASE("the receiver refuses to run as root unless allowed") {
  test::require_root("the refusal of root is what is tested");
  test::TempDir dir;
  test::write_file(dir / "c.json", R"({"instance":"x","state_dir":"var","deployments":{"a":{
      "repository":"a/b","branch":"main","path":"/tmp/a","steps":[]}}})");
  auto result = test::run({test::bin("receiver").string(), "--config", (dir / "c.json").string()},
                          {{"WEBHOOK_SECRET", "s"}, {"DEPLOY_ALLOW_ROOT", "0"}}, 20s);
  CHECK(result.status == 1);
  CHECK_THAT(result.output, Catch::Contains("root"));
}

TEST_CASE("the options --version and --help work without a configuration") {
  auto version = test::run({test::bin("receiver").string(), "--version"});
  CHECK(version.status == 0);
  CHECK_THAT(version.output, Catch::StartsWith("receiver "));
  auto help = test::run({test::bin("receiver").string(), "--help"});
  CHECK(help.status == 0);
  CHECK_THAT(help.output, Catch::Contains("--config"));
}

TEST_CASE("SIGTERM and SIGINT stop the receiver promptly with status 0") {
  for (int signal : {SIGTERM, SIGINT}) {
    INFO("signal " << signal);
    ReceiverProcess receiver;
    // An idle keep-alive connection and a silent new one must not hold the exit up.
    http::Connection idle(receiver.port());
    CHECK(idle.request(http::simple_request("GET", "/")).status == 200);
    http::Connection silent(receiver.port());
    auto started = std::chrono::steady_clock::now();
    CHECK(receiver.stop(signal, 5s) == 0);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(idle.closed_by_peer(1s));
    CHECK_FALSE(http::wait_for_port(receiver.port(), 100ms));
    CHECK_THAT(receiver.log(), Catch::Contains("stopping"));
  }
}

TEST_CASE("a request in flight when SIGTERM arrives is finished and acknowledged") {
  ReceiverProcess receiver;
  auto raw = http::webhook_request(receiver.webhook());
  http::Connection c(receiver.port());
  c.send(raw.substr(0, raw.size() - 10));  // header and most of the body
  // Make sure the receiver has started on it before the signal.
  REQUIRE(test::eventually([&] { return server_has_read(c, receiver.port()); }, 10s));
  receiver.child().signal(SIGTERM);
  // Once it says it is stopping, it has handled the signal, and must still wait for the body.
  REQUIRE(test::eventually([&] { return receiver.log().find("stopping") != std::string::npos; }));
  CHECK(receiver.child().running());  // still waiting for the rest of the body
  c.send(raw.substr(raw.size() - 10));
  auto response = c.read_response();
  CHECK(response.status == 202);
  CHECK(response.header("connection") == "close");
  CHECK(receiver.child().wait(5s) == 0);
  auto entries = receiver.entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0] == response.json()["entry"]);
  CHECK(common::parse_entry(receiver.entry_text(entries[0])).ok());
}

TEST_CASE("a restarted receiver removes temporaries left by a crashed one and keeps entries") {
  ReceiverProcess receiver;
  auto first = receiver.send(http::webhook_request(receiver.webhook()));
  REQUIRE(first.status == 202);
  receiver.kill();
  // What a receiver killed between create and rename leaves (pid above pid_max: surely dead).
  test::write_file(receiver.inbox() / ".01795400000000000000-dead.json.4194305.tmp", "{\"par");
  receiver.start();
  CHECK(receiver.all_files() == std::vector<std::string>{first.json()["entry"]});
  auto second = receiver.send(http::webhook_request(receiver.webhook()));
  REQUIRE(second.status == 202);
  CHECK(receiver.entries().size() == 2);
  CHECK(second.json()["entry"].get<std::string>() > first.json()["entry"].get<std::string>());
}
