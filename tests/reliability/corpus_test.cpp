// corpus_test.cpp: the hostile-request corpus (tests/reliability/corpus/, made by generate.py)
// against the real receiver binary. Each file `NNN-<slug>.<status>.http` is sent on a fresh
// connection, then the client half-closes; the answer must be the documented status (0: the
// connection is closed without an answer, for a request cut off before its end). After the whole
// corpus: the receiver is still running, wrote exactly one entry per 2xx and nothing else (no
// dot-temporary either), and still answers a valid webhook with 202.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "tests/receiver/receiver_process.hpp"
#include "tests/support/http.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

struct Case {
  std::string name;
  int status;
  std::string bytes;
};

std::vector<Case> load_corpus() {
  std::vector<Case> cases;
  for (const auto& e :
       std::filesystem::directory_iterator(test::source("tests/reliability/corpus"))) {
    std::string name = e.path().filename().string();
    if (e.path().extension() != ".http") continue;
    std::string stem = e.path().stem().string();  // NNN-slug.STATUS
    auto dot = stem.rfind('.');
    REQUIRE(dot != std::string::npos);
    cases.push_back({name, std::stoi(stem.substr(dot + 1)), test::read_file(e.path())});
  }
  std::sort(cases.begin(), cases.end(),
            [](const Case& a, const Case& b) { return a.name < b.name; });
  return cases;
}

// Sends the bytes, half-closes, and reads one answer: its status, or 0 when the connection is
// closed (or reset) without one.
int answer(unsigned short port, const std::string& bytes) {
  test::http::Connection c(port, "127.0.0.1", std::chrono::seconds(15));
  try {
    c.send(bytes);
    c.shutdown_write();
  } catch (const std::system_error&) {
    // The server may close early (a 413 or 431 before the rest arrives): read what it said.
  }
  try {
    return c.read_response().status;
  } catch (const std::runtime_error&) {
    return 0;
  }
}

}  // namespace

TEST_CASE("every hostile request of the corpus gets its documented status and writes nothing") {
  std::vector<Case> cases = load_corpus();
  REQUIRE(cases.size() >= 200);
  test::ReceiverOptions options;
  options.receiver = {
      {"body_limit_bytes", 262144}, {"header_limit_bytes", 16384}, {"read_timeout_s", 5}};
  test::ReceiverProcess receiver(options);

  std::map<int, int> by_status;
  std::size_t accepted = 0, mismatches = 0;
  for (const Case& c : cases) {
    int status = answer(receiver.port(), c.bytes);
    by_status[status]++;
    if (status != c.status) {
      ++mismatches;
      UNSCOPED_INFO(c.name << ": expected " << c.status << ", got " << status);
    }
    if (status >= 200 && status < 300) ++accepted;
    REQUIRE(receiver.child().running());
  }
  std::cout << "corpus: " << cases.size() << " requests, " << mismatches << " mismatches;";
  for (auto [status, n] : by_status) std::cout << " " << status << "x" << n;
  std::cout << std::endl;
  CHECK(mismatches == 0);

  // One entry per 2xx, and nothing else in inbox/ (no temporaries of refused requests).
  CHECK(receiver.entries().size() == accepted);
  CHECK(receiver.all_files().size() == accepted);

  // Still serving.
  auto ok = receiver.send(test::http::webhook_request(receiver.webhook()));
  CHECK(ok.status == 202);
  CHECK(receiver.child().running());
}
