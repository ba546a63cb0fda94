// privilege_test.cpp: every program refuses to run as root unless explicitly allowed, before it
// touches the state directory; what the receiver creates is unreadable by other users. (The
// check that secrets never reach logs, status output or error files runs over a whole pipeline in
// chaos_test.cpp.) Skipped (test::skip, exit status 77) when the tests do not run as root.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/receiver/receiver_process.hpp"
#include "tests/support/child.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/temp_dir.hpp"

TEST_CASE("receiver router deployer and deployctl refuse to run as root unless allowed") {
  test::require_root("the refusal of root is what is tested");
  test::TempDir dir("reliability-root");
  nlohmann::json config = {
      {"instance", "root-test"},
      {"state_dir", "var"},
      {"listen", {{"host", "127.0.0.1"}, {"port", 0}}},
      {"deployments",
       {{"site",
         {{"repository", "example/site"},
          {"branch", "main"},
          {"path", (dir / "site").string()},
          {"steps", nlohmann::json::array()}}}}},
  };
  test::write_file(dir / "deployer.json", config.dump());
  const std::string file = (dir / "deployer.json").string();
  const std::map<std::string, std::string> env{{"DEPLOY_ALLOW_ROOT", "0"},
                                               {"WEBHOOK_SECRET", "s"},
                                               {"DATABASE_URL", "host=/nonexistent dbname=x"}};
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {test::bin("receiver").string(), "--config", file},
           {test::bin("router").string(), "--config", file},
           {test::bin("deployer").string(), "--config", file, "--deployment", "site"},
           {test::bin("deployctl").string(), "--config", file, "enqueue", "site", "--sha",
            std::string(40, 'a')}}) {
    auto r = test::run(argv, env, std::chrono::seconds(20));
    INFO(argv[0] << ": " << r.output);
    CHECK(r.status != 0);
    CHECK(r.output.find("root") != std::string::npos);
    // Nothing was created: the refusal comes before the state directory is touched.
    CHECK_FALSE(std::filesystem::exists(dir / "var"));
  }
}

TEST_CASE("the receiver creates its folders 0700 and entries 0600") {
  test::ReceiverProcess receiver;
  auto r = receiver.send(test::http::webhook_request(receiver.webhook()));
  REQUIRE(r.status == 202);
  struct stat st {};
  REQUIRE(::stat(receiver.inbox().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  auto entries = receiver.entries();
  REQUIRE(entries.size() == 1);
  REQUIRE(::stat((receiver.inbox() / entries[0]).c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) == 0);
  // The secret and the signature never reach the log.
  const std::string log = receiver.log();
  CHECK(log.find(test::kReceiverSecret) == std::string::npos);
  CHECK(log.find("sha256=") == std::string::npos);
}
