// Files that reach the inbox by hand (cp, mv, a slow writer) and files that are not entries
// (malformed, not JSON objects, missing payloads, strays, symbolic links, FIFOs, folders).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "tests/router/harness.hpp"

using namespace router_test;
using Names = std::vector<std::string>;

namespace {

void drain(RouterEnv& env, std::chrono::milliseconds timeout = 20s) {
  if (!env.wait_inbox_empty(timeout)) FAIL("inbox not drained; router log:\n" << env.log());
}

// The entry names the router logged as routed, in log order.
Names routed_in_log(const RouterEnv& env) {
  Names names;
  const std::string log = env.log();
  const std::string marker = "entry routed ";
  for (auto at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    const auto start = log.find(" entry=", at) + 7;
    names.push_back(log.substr(start, log.find(' ', start) - start));
  }
  return names;
}

}  // namespace

TEST_CASE("entries dropped by hand with cp and mv are routed") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}});
  env.start();
  test::write_file(env.scratch() / "copy.json", push_entry("cp-1", PushSpec()));
  const auto copied = env.next_name("cp-1");
  auto result = test::run(
      {"/bin/cp", (env.scratch() / "copy.json").string(), (env.inbox() / copied).string()});
  REQUIRE(result.status == 0);
  test::write_file(env.scratch() / "move.json", push_entry("mv-1", PushSpec()));
  const auto moved = env.next_name("mv-1");
  result = test::run(
      {"/bin/mv", (env.scratch() / "move.json").string(), (env.inbox() / moved).string()});
  REQUIRE(result.status == 0);
  drain(env);
  CHECK(env.stop(SIGINT) == 0);  // as PM2 stops it
  CHECK(env.count_log("stopping after the current entry signal=2") == 1);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{copied, moved});
  CHECK(RouterEnv::files(env.layout().rejected()).empty());
}

TEST_CASE("a file written slowly is waited for, and the entries behind it wait too") {
  // Pauses of 300 ms between writes, well under the 1.5 s settle time.
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}}, 1500);
  env.start();
  const std::string text = push_entry("slow-1", PushSpec());
  const auto slow = env.next_name("slow-1");
  const int fd = ::open((env.inbox() / slow).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  REQUIRE(fd >= 0);
  const std::size_t chunk = text.size() / 4 + 1;
  REQUIRE(::write(fd, text.data(), chunk) == static_cast<ssize_t>(chunk));
  // A later entry arrives, complete, while the first is still being written.
  const auto behind = env.publish(push_entry("fast-1", PushSpec()), "fast-1");
  for (std::size_t at = chunk; at < text.size(); at += chunk) {
    std::this_thread::sleep_for(300ms);
    CHECK(RouterEnv::entries(env.layout().queue("durhack")).empty());  // order is kept
    const auto n = std::min(chunk, text.size() - at);
    REQUIRE(::write(fd, text.data() + at, n) == static_cast<ssize_t>(n));
  }
  REQUIRE(::close(fd) == 0);
  drain(env);
  CHECK(env.stop() == 0);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{slow, behind});
  CHECK(routed_in_log(env) == Names{slow, behind});
  CHECK(RouterEnv::files(env.layout().rejected()).empty());
  CHECK(test::read_file(env.layout().queue("durhack") / slow) == text);
}

TEST_CASE("malformed entries are quarantined with a reason once settled") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}}, 300);
  const auto not_json = env.publish("{\"id\": \"bad-1\", \"event\": \"push\", ", "bad-1");
  const auto not_object = env.publish("[1, 2, 3]\n", "bad-2");
  const auto no_payload =
      env.publish(R"({"id": "bad-3", "event": "push", "hook_id": "42"})", "bad-3");
  const auto no_ref =
      env.publish(event_entry("bad-4", "push",
                              R"({"after": ")" + sha(1) +
                                  R"(", "repository": {"full_name": "ducompsoc/durhack"}})"),
                  "bad-4");
  const auto good = env.publish(push_entry("good-1", PushSpec()), "good-1");
  const auto started = std::chrono::steady_clock::now();
  env.start();
  drain(env);
  CHECK(env.stop() == 0);
  // Files published just now are given the settle time before they are judged.
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);

  const auto rejected = env.layout().rejected();
  CHECK(RouterEnv::files(rejected) == Names{not_json, not_json + ".reason", not_object,
                                            not_object + ".reason", no_payload,
                                            no_payload + ".reason", no_ref, no_ref + ".reason"});
  CHECK(test::read_file(rejected / not_json).rfind("{\"id\": \"bad-1\"", 0) == 0);
  CHECK(test::read_file(rejected / (not_json + ".reason")).rfind("not JSON: ", 0) == 0);
  CHECK(test::read_file(rejected / (not_object + ".reason")) == "not a JSON object\n");
  CHECK(test::read_file(rejected / (no_payload + ".reason")) == "missing \"payload\"\n");
  CHECK(test::read_file(rejected / (no_ref + ".reason")).rfind("payload.ref", 0) == 0);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{good});

  // Rejections are recorded under their delivery when the text names one.
  for (const auto& id : {"bad-3", "bad-4"}) {
    const auto receipts = env.receipts(id);
    REQUIRE(receipts.size() == 1);
    CHECK(receipts[0].decision == ledger::Decision::rejected);
  }
  CHECK(env.receipts("bad-3")[0].reason == "missing \"payload\"");
  CHECK(env.receipts("bad-1").empty());  // its text never parsed: no trustworthy id
  CHECK(env.count_log("entry rejected delivery=bad-3 entry=" + no_payload) == 1);
  CHECK(env.count_log("entry rejected delivery=- entry=" + not_object) == 1);
}

TEST_CASE("strays, symbolic links, FIFOs and folders are quarantined, never followed") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}}, 300);
  const auto inbox = env.inbox();
  const auto link = env.next_name("link");
  REQUIRE(::symlink("/etc/passwd", (inbox / link).c_str()) == 0);
  const auto fifo = env.next_name("fifo");
  REQUIRE(::mkfifo((inbox / fifo).c_str(), 0600) == 0);
  const auto folder = env.next_name("folder");
  std::filesystem::create_directory(inbox / folder);
  test::write_file(inbox / "deploy.json", push_entry("stray-1", PushSpec()));
  test::write_file(inbox / "notes.txt", "not json, not an entry: left alone");
  const auto good = env.publish(push_entry("good-2", PushSpec()), "good-2");
  env.start();
  drain(env);
  CHECK(env.stop() == 0);

  const auto rejected = env.layout().rejected();
  CHECK(RouterEnv::files(inbox) == Names{"notes.txt"});
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{good});
  CHECK(std::filesystem::is_symlink(rejected / link));
  CHECK(std::filesystem::is_fifo(rejected / fifo));
  CHECK(std::filesystem::is_directory(rejected / folder));
  CHECK(test::read_file(rejected / (link + ".reason")) == "is a symbolic link\n");
  CHECK(test::read_file(rejected / (fifo + ".reason")) == "is not a regular file\n");
  CHECK(test::read_file(rejected / (folder + ".reason")) == "is a directory\n");
  CHECK(test::read_file(rejected / "deploy.json.reason").find("not an entry name") == 0);
  CHECK(env.count_log("stray file rejected entry=deploy.json") == 1);
}
