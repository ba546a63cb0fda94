// The deployer's intake with the ledger in the loop (issue 15, attack 5): hostile queue entry
// texts go through deployer::check_entry_text, as every queue entry does, and each refusal's
// reason is stored with Ledger::mark(failed) in a real PostgreSQL, as reject_entry() does. Every
// byte value inside a string, truncated and overlong UTF-8, escaped NUL, C1 controls, and the
// fuzz seeds (fuzz/seeds/fuzz_intake, fuzz_entry): none may make the ledger refuse the reason
// (before the fix one 0xff byte did, and the deployer exited at every restart).
// fuzz/fuzz_intake.cpp checks the same property on arbitrary bytes without a database.
#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/ledger/ledger.hpp"
#include "common/ledger/migrations.hpp"
#include "common/printable.hpp"
#include "deployer/push_check.hpp"
#include "tests/support/child.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

std::vector<std::string> hostile_texts() {
  const std::string sha(40, 'a');
  auto push = [&](const std::string& ref, const std::string& repository) {
    return R"({"event":"push","payload":{"ref":")" + ref + R"(","after":")" + sha +
           R"(","repository":{"full_name":")" + repository + R"("}}})";
  };
  std::vector<std::string> out;
  for (int byte = 0; byte < 256; ++byte) {
    const std::string b(1, static_cast<char>(byte));
    out.push_back(push("refs/heads/main" + b, "example/app"));
    out.push_back(push("refs/heads/main", "example/" + b + "app"));
    out.push_back(R"({"event":"pu)" + b + R"(sh","payload":{}})");
    out.push_back(R"({"id":")" + b + R"(","event":"push","payload":{}})");
    out.push_back("{" + b);
  }
  for (const char* sequence : {"\xc2", "\xe2\x82", "\xf0\x9f\x98", "\xc0\xaf", "\xed\xa0\x80",
                               "\xf4\x90\x80\x80", "\xc2\x9b", "\xc2\x85", "\xe2\x80\xae"}) {
    out.push_back(push(std::string("refs/heads/") + sequence, "example/app"));
    out.push_back(push("refs/heads/main", std::string("example/") + sequence));
  }
  out.push_back(push("refs/heads/main", "example/a\\u0000pp"));
  out.push_back(push("refs/heads/ma\\u0000in", "example/app"));
  out.push_back(push("refs/heads/main", "other/app\\u009b"));
  out.push_back(std::string("{\"event\":\"push\0\",\"payload\":{}}", 30));
  for (const char* seeds : {"fuzz/seeds/fuzz_intake", "fuzz/seeds/fuzz_entry"}) {
    std::error_code ec;
    for (const auto& file : std::filesystem::directory_iterator(test::source(seeds), ec)) {
      out.push_back(test::read_file(file.path()));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every reason the deployer's intake gives is stored by the ledger") {
  test::Database db;
  ledger::migrate(db.url());
  ledger::Ledger ledger{db.url()};
  common::Deployment deployment;
  deployment.name = "app";
  deployment.repository = "example/app";
  deployment.branch = "main";

  std::size_t refused = 0, accepted = 0, n = 0;
  for (const auto& text : hostile_texts()) {
    auto taken = deployer::check_entry_text(text, deployment);
    if (taken.ok()) {
      ++accepted;
      continue;
    }
    ++refused;
    INFO("entry text: " << common::printable(text));
    INFO("reason: " << taken.error().message);
    CHECK(common::is_printable(taken.error().message));
    const std::string digits = std::to_string(++n);
    const std::string entry = std::string(20 - digits.size(), '0') + digits + "-hostile.json";
    CHECK_NOTHROW(ledger.mark("app", entry, ledger::QueueState::failed, taken.error().message));
  }
  std::cout << "figure: intake with the ledger: " << refused << " hostile entries refused, "
            << "every reason stored; " << accepted << " accepted\n";
  CHECK(refused > 1000);
  auto items = ledger.queue_items("app", {"00000000000000000001-hostile.json"});
  CHECK(items.size() == 1);

  // The ledger itself stores what it is given as printable text, whoever calls it.
  CHECK_NOTHROW(ledger.mark("app", "00000000000000099999-raw.json", ledger::QueueState::failed,
                            std::string("raw \xff and \0 NUL", 15)));
}
