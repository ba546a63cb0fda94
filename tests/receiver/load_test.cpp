// The real receiver under concurrent load, and killed with SIGKILL in the middle of it.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/entry.hpp"
#include "tests/receiver/receiver_process.hpp"
#include "tests/support/seed.hpp"

using test::ReceiverProcess;
namespace http = test::http;
using namespace std::chrono_literals;

namespace {

std::string body_for(int connection, int index) {
  return "{\"connection\":" + std::to_string(connection) + ",\"index\":" + std::to_string(index) +
         ",\"pad\":\"" + std::string(static_cast<std::size_t>(100 + index % 200), 'x') + "\"}";
}

}  // namespace

TEST_CASE("1,000 signed requests over 16 connections: 1,000 distinct entries in send order") {
  ReceiverProcess receiver;
  constexpr int kConnections = 16;
  constexpr int kTotal = 1000;
  std::vector<std::vector<std::string>> names(kConnections);  // per connection, in send order
  std::vector<std::string> failures(kConnections);
  std::vector<std::thread> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&, c] {
      try {
        http::Connection connection(receiver.port());
        for (int i = c; i < kTotal; i += kConnections) {
          auto hook = receiver.webhook(body_for(c, i));
          hook.delivery = "load-" + std::to_string(c) + "-" + std::to_string(i);
          auto response = connection.request(http::webhook_request(hook));
          if (response.status != 202) throw std::runtime_error("status " + response.body);
          names[c].push_back(response.json()["entry"]);
        }
      } catch (const std::exception& e) {
        failures[c] = e.what();
      }
    });
  }
  for (auto& t : clients) t.join();
  for (const auto& f : failures) CHECK(f.empty());

  std::set<std::string> acknowledged;
  for (int c = 0; c < kConnections; ++c) {
    INFO("connection " << c);
    // Each connection's entries sort in the order its requests were sent.
    CHECK(std::is_sorted(names[c].begin(), names[c].end()));
    acknowledged.insert(names[c].begin(), names[c].end());
  }
  CHECK(acknowledged.size() == kTotal);
  auto entries = receiver.entries();
  CHECK(entries.size() == kTotal);
  CHECK(std::set<std::string>(entries.begin(), entries.end()) == acknowledged);
  CHECK(receiver.all_files().size() == kTotal);  // no temporaries left

  // Every entry is the request that named it, payload byte for byte.
  for (int c = 0; c < kConnections; ++c) {
    for (std::size_t k = 0; k < names[c].size(); ++k) {
      int i = c + static_cast<int>(k) * kConnections;
      auto text = receiver.entry_text(names[c][k]);
      auto entry = common::parse_entry(text);
      REQUIRE(entry.ok());
      CHECK(*entry->meta.id == "load-" + std::to_string(c) + "-" + std::to_string(i));
      CHECK(text.find("\"payload\":" + body_for(c, i) + "}") != std::string::npos);
    }
  }
}

TEST_CASE("kill -9 in the middle of a load: every 202 has its entry, no entry is partial") {
  std::mt19937 random(test::seed());
  ReceiverProcess receiver;
  std::set<std::string> acknowledged;
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    std::mutex mutex;
    std::atomic<bool> done{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&, c] {
        try {
          http::Connection connection(receiver.port(), "127.0.0.1", 5s);
          for (int i = 0; !done; ++i) {
            // Bodies of different sizes, up to a few hundred KB, so a kill can land mid-write.
            std::size_t pad = (static_cast<std::size_t>(i) * 7919 + c * 104729) % 300000;
            auto hook = receiver.webhook("{\"c\":" + std::to_string(c) + ",\"pad\":\"" +
                                         std::string(pad, 'k') + "\"}");
            auto response = connection.request(http::webhook_request(hook));
            if (response.status == 202) {
              std::lock_guard lock(mutex);
              acknowledged.insert(response.json()["entry"].get<std::string>());
            }
          }
        } catch (const std::exception&) {
          // The receiver died under us: expected.
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 350));
    receiver.kill();
    done = true;
    for (auto& t : clients) t.join();

    // Everything acknowledged is there and complete; nothing canonical is partial.
    auto entries = receiver.entries();
    std::set<std::string> present(entries.begin(), entries.end());
    for (const auto& name : acknowledged) {
      INFO(name);
      CHECK(present.count(name) == 1);
    }
    for (const auto& name : entries) {
      INFO(name);
      CHECK(common::parse_entry(receiver.entry_text(name)).ok());
    }
    receiver.start();  // removes what the killed one left half-written
    for (const auto& name : receiver.all_files()) CHECK(name.front() != '.');
  }
  CHECK(acknowledged.size() > 0);
}
