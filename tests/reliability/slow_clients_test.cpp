// slow_clients_test.cpp: a slowloris attack on the real receiver. Hundreds of connections send a
// request header one byte a second; meanwhile a valid signed webhook on a fresh connection must
// still be answered 202 within 1 s, and every slow connection is still open at the end (held,
// neither answered nor dropped). The figures (connections held, answer time) are printed.
// DEPLOY_SLOW_CLIENTS (default 500) and DEPLOY_SLOW_SECONDS (default 3) scale it for --full runs.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/receiver/receiver_process.hpp"
#include "tests/support/http.hpp"

using namespace std::chrono_literals;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

}  // namespace

TEST_CASE("500 clients trickling headers one byte a second do not delay a valid webhook") {
  const int clients = env_int("DEPLOY_SLOW_CLIENTS", 500);
  const int seconds = env_int("DEPLOY_SLOW_SECONDS", 3);
  test::ReceiverOptions options;
  options.receiver = {{"max_connections", clients + 64}, {"read_timeout_s", 30}};
  test::ReceiverProcess receiver(options);

  const std::string slow = "POST /github-webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n";
  std::vector<test::http::Connection> conns;
  conns.reserve(static_cast<std::size_t>(clients));
  for (int i = 0; i < clients; ++i) conns.emplace_back(receiver.port());

  std::chrono::milliseconds worst{0};
  int sent_rounds = 0;
  for (int second = 0; second < seconds; ++second) {
    for (auto& c : conns)
      c.send(std::string_view(slow).substr(static_cast<std::size_t>(second), 1));
    ++sent_rounds;
    // A valid webhook in the middle of the trickle.
    auto start = std::chrono::steady_clock::now();
    test::http::Connection ok(receiver.port(), "127.0.0.1", 5s);
    auto response = ok.request(test::http::webhook_request(receiver.webhook()));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    CHECK(response.status == 202);
    worst = std::max(worst, took);
    std::this_thread::sleep_for(1s - std::min<std::chrono::milliseconds>(took, 900ms));
  }
  // The slow connections are still open (held, not answered) and the receiver is alive.
  int open = 0;
  for (auto& c : conns) {
    if (!c.closed_by_peer(1ms)) ++open;
  }
  std::cout << "slow clients: " << clients << " connections trickling for " << sent_rounds
            << " s, still open " << open << ", valid webhook answered in at most " << worst.count()
            << " ms" << std::endl;
  CHECK(open == clients);
  CHECK(worst < 1000ms);
  CHECK(receiver.child().running());
  CHECK(receiver.entries().size() == static_cast<std::size_t>(sent_rounds));
}
