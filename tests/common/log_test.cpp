// Logging: the line format, quoting, escaping (no forged lines), levels, and the real write to
// fd 2 (captured by pointing fd 2 at a file).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "tests/common/capture_stderr.hpp"

namespace {

using namespace std::chrono;
using common_test::capture_stderr;

const system_clock::time_point when =
    sys_days{year{2026} / 11 / 23} + hours{4} + minutes{5} + seconds{6} + milliseconds{123};

}  // namespace

TEST_CASE("log lines have the documented shape") {
  CHECK(
      common::log::format_line(when, common::log::Level::info, "receiver", "entry published",
                               {{"delivery", "abc"}, {"entry", "0001-abc.json"}}) ==
      "2026-11-23T04:05:06.123Z info receiver: entry published delivery=abc entry=0001-abc.json\n");
  CHECK(common::log::format_line(when, common::log::Level::warn, "router", "x", {}) ==
        "2026-11-23T04:05:06.123Z warn router: x\n");
  CHECK(common::log::format_line(when, common::log::Level::debug, "p", "m",
                                 {{"n", 42}, {"ok", true}}) ==
        "2026-11-23T04:05:06.123Z debug p: m n=42 ok=true\n");
}

TEST_CASE("log values are quoted and escaped so webhook data cannot forge lines") {
  CHECK(common::log::format_value("plain") == "plain");
  CHECK(common::log::format_value("") == "\"\"");
  CHECK(common::log::format_value("two words") == "\"two words\"");
  CHECK(common::log::format_value("a=b") == "\"a=b\"");
  CHECK(common::log::format_value("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(common::log::format_value("back\\slash") == "\"back\\\\slash\"");
  CHECK(common::log::format_value("x\ny") == "\"x\\ny\"");
  CHECK(common::log::format_value(std::string("nul\0!", 5)) == "\"nul\\x00!\"");
  CHECK(common::log::format_value("esc\x1b[31m") == "\"esc\\x1b[31m\"");
  CHECK(common::log::format_value("caf\xc3\xa9") == "caf\xc3\xa9");

  const auto forged = common::log::format_line(
      when, common::log::Level::info, "router",
      "bad ref\n2026-11-23T04:05:06.123Z info router: deployed",
      {{"ref", "main\r\n2026-11-23T00:00:00.000Z error x: y"}, {"we ird key", "v"}});
  CHECK(std::count(forged.begin(), forged.end(), '\n') == 1);
  CHECK(forged.back() == '\n');
  CHECK(std::count(forged.begin(), forged.end(), '\r') == 0);
  CHECK(forged.find("bad ref\\n2026") != std::string::npos);
  CHECK(forged.find(" we_ird_key=v") != std::string::npos);
}

TEST_CASE("log values longer than 4096 bytes are cut") {
  const auto value = common::log::format_value(std::string(10000, 'a'));
  CHECK(value.size() == 4096 + 3);
  CHECK(value.ends_with("..."));
}

TEST_CASE("log writes one line to fd 2 and honours the level") {
  common::log::set_program("tester");
  common::log::set_level(common::log::Level::info);
  const auto text = capture_stderr([] {
    common::log::debug("hidden");
    common::log::info("shown", {{"delivery", "abc"}});
    common::log::error("also shown", {{"why", "disk full"}});
  });
  CHECK(text.find("hidden") == std::string::npos);
  CHECK(text.find(" info tester: shown delivery=abc\n") != std::string::npos);
  CHECK(text.find(" error tester: also shown why=\"disk full\"\n") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);

  common::log::set_level(common::log::Level::error);
  CHECK(capture_stderr([] { common::log::warn("quiet"); }).empty());
  common::log::set_level(common::log::Level::info);
}

TEST_CASE("log lines from many threads never interleave") {
  common::log::set_program("tester");
  common::log::set_level(common::log::Level::info);
  const auto text = capture_stderr([] {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 200; ++i)
          common::log::info("line", {{"thread", t}, {"payload", std::string(300, 'x')}});
      });
    }
    for (auto& thread : threads) thread.join();
  });
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    REQUIRE(end != std::string::npos);
    const auto line = text.substr(start, end - start);
    CHECK(line.find(" info tester: line thread=") == 24);
    CHECK(line.ends_with(std::string(300, 'x')));
    ++lines;
    start = end + 1;
  }
  CHECK(lines == 800);
}

TEST_CASE("log level comes from DEPLOY_LOG_LEVEL names") {
  CHECK(common::log::parse_level("debug") == common::log::Level::debug);
  CHECK(common::log::parse_level("info") == common::log::Level::info);
  CHECK(common::log::parse_level("warn") == common::log::Level::warn);
  CHECK(common::log::parse_level("error") == common::log::Level::error);
  CHECK_FALSE(common::log::parse_level("INFO"));
  CHECK_FALSE(common::log::parse_level("verbose"));
  CHECK(common::log::to_string(common::log::Level::warn) == "warn");
  common::log::set_level(common::log::Level::warn);
  CHECK_FALSE(common::log::enabled(common::log::Level::info));
  CHECK(common::log::enabled(common::log::Level::error));
  common::log::set_level(common::log::Level::info);
}

TEST_CASE("log lines escape C1 controls and bytes that are not UTF-8") {
  // U+009B is a one-character CSI; a raw 0x9b byte is one too on 8-bit terminals.
  CHECK(common::log::format_value("a\xc2\x9b"
                                  "31mb") == "\"a\\u009b31mb\"");
  CHECK(common::log::format_value("raw\x9b"
                                  "2J") == "\"raw\\x9b2J\"");
  CHECK(common::log::format_value("\xc2\x85next") == "\"\\u0085next\"");
  CHECK(common::log::format_value("bad\xff") == "\"bad\\xff\"");
  CHECK(common::log::format_value("cut\xe2\x82") == "\"cut\\xe2\\x82\"");
  CHECK(common::log::format_value("euro\xe2\x82\xac") == "euro\xe2\x82\xac");
  CHECK(common::log::format_value("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
  CHECK(common::log::escape_text("GET /\xc2\x9b\x1b[0m") == "GET /\\u009b\\x1b[0m");
  const auto line = common::log::format_line(when, common::log::Level::info, "receiver", "request",
                                             {{"path", "/\xc2\x9b\xc0\xaf"}});
  CHECK(line.find("\xc2\x9b") == std::string::npos);
  CHECK(line.find("path=\"/\\u009b\\xc0\\xaf\"") != std::string::npos);
}
