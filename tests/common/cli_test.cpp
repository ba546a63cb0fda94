// The program skeleton: exit statuses, the one-line error contract, --config and the root check.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/cli.hpp"
#include "tests/common/capture_stderr.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using common_test::capture_stderr;

// run_main over a vector of arguments (argv[0] is the program).
int run(std::vector<std::string> args, common::StandardOptions& options,
        const std::function<int()>& body) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return common::run_main(
      "tool", static_cast<int>(args.size()), argv.data(),
      [&](CLI::App& app) { common::add_standard_options(app, options); }, body);
}

}  // namespace

TEST_CASE("cli: the body's status is returned and --config is parsed") {
  common::StandardOptions options;
  CHECK(run({"tool", "--config", "/etc/x.json"}, options, [] { return 7; }) == 7);
  CHECK(options.config_path == "/etc/x.json");
  CHECK(common::config_path_for(options) == "/etc/x.json");
  common::StandardOptions defaults;
  ::unsetenv("DEPLOYER_CONFIG");
  CHECK(common::config_path_for(defaults) == "config/deployer.json");
}

TEST_CASE("cli: --version and --help succeed without running the body") {
  common::StandardOptions options;
  bool ran = false;
  CHECK(run({"tool", "--version"}, options, [&] { return ran = true, 3; }) == 0);
  CHECK(run({"tool", "--help"}, options, [&] { return ran = true, 3; }) == 0);
  CHECK_FALSE(ran);
}

TEST_CASE("cli: usage errors print one line and return 2") {
  common::StandardOptions options;
  int status = -1;
  const auto text = capture_stderr([&] {
    status = run({"tool", "--bogus"}, options, [] { return 0; });
  });
  CHECK(status == 2);
  CHECK(text.starts_with("tool: error: "));
  CHECK(text.find("--bogus") != std::string::npos);
  CHECK(text.find('\n') == text.size() - 1);
}

TEST_CASE("cli: a UsageError from the body prints one line with (see --help) and returns 2") {
  common::StandardOptions options;
  int status = -1;
  const auto text = capture_stderr([&] {
    status = run({"tool"}, options, []() -> int { throw common::UsageError("--sha: too short"); });
  });
  CHECK(status == common::kUsageError);
  CHECK(text == "tool: error: --sha: too short (see --help)\n");
}

TEST_CASE("cli: exceptions from the body print one escaped line and return 1") {
  common::StandardOptions options;
  int status = -1;
  const auto text = capture_stderr([&] {
    status =
        run({"tool"}, options, []() -> int { throw std::runtime_error("broken\nsecond line"); });
  });
  CHECK(status == 1);
  CHECK(text == "tool: error: broken\\nsecond line\n");
}

TEST_CASE("cli: a bad configuration file is reported with its path") {
  test::TempDir dir;
  test::write_file(dir / "bad.json", "{\"instance\": 1}");
  common::StandardOptions options;
  int status = -1;
  const auto text = capture_stderr([&] {
    status = run({"tool", "--config", (dir / "bad.json").string()}, options, [&] {
      common::load_config_for(options);
      return 0;
    });
  });
  CHECK(status == 1);
  CHECK(text == "tool: error: " + (dir / "bad.json").string() + ": instance: must be a string\n");
}

TEST_CASE("cli: root is refused unless allowed") {
  common::Config config;
  config.file = "/etc/deployer.json";
  ::unsetenv("DEPLOY_ALLOW_ROOT");
  if (::geteuid() == 0) {
    CHECK_THROWS_WITH(common::refuse_root_unless_allowed(config),
                      Catch::StartsWith("refusing to run as root"));
    ::setenv("DEPLOY_ALLOW_ROOT", "yes", 1);
    CHECK_THROWS(common::refuse_root_unless_allowed(config));
    ::setenv("DEPLOY_ALLOW_ROOT", "1", 1);
    CHECK_NOTHROW(common::refuse_root_unless_allowed(config));
    ::unsetenv("DEPLOY_ALLOW_ROOT");
    config.allow_root = true;
    CHECK_NOTHROW(common::refuse_root_unless_allowed(config));
  } else {
    CHECK_NOTHROW(common::refuse_root_unless_allowed(config));
  }
}
