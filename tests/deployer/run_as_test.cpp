// run_as_test.cpp: a deployment with run_as, deployed by the REAL deployer (as root, as in CI)
// through real sudo and deploy-step as a real user (dpl-test-app): steps and git run as that
// user in an environment built from scratch; nothing a step starts outlives it (its own exit, a
// timeout, a SIGTERM to the deployer); and a step acting as an attacker can read none of the
// pipeline's secrets, write none of its files, and get nothing from sudo. The deployer refuses a
// run_as that is root or missing.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/deployer/harness.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/users.hpp"

using test::deployer::Harness;
using test::deployer::sh_step;

namespace {

void chown_tree(const std::filesystem::path& root, const test::User& user) {
  REQUIRE(::lchown(root.c_str(), user.uid, user.gid) == 0);
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    REQUIRE(::lchown(e.path().c_str(), user.uid, user.gid) == 0);
  }
}

// A harness whose working tree and origin belong to the run_as user: commit `extra` first, as
// root, because git refuses to work in a repository another user owns.
test::User prepare(Harness& h, std::string& sha) {
  const auto user = test::ensure_user("dpl-test-app");
  h.origin.commit({{"README.md", "a\n"}});
  h.clone();
  sha = h.origin.commit({{"README.md", "b\n"}});  // fetched by the deployer, as the user
  chown_tree(h.app(), user);
  chown_tree(h.origin.url(), user);
  h.deployment_extra = {{"run_as", user.name}};
  return user;
}

std::string run_logs(Harness& h) {
  std::string out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(h.dir("logs"))) {
    if (e.is_regular_file()) out += test::read_file(e.path());
  }
  return out;
}

pid_t pid_in(const std::filesystem::path& file) {
  pid_t pid = 0;
  REQUIRE(test::eventually(
      [&] {
        std::ifstream in(file);
        return static_cast<bool>(in >> pid) && pid > 0;
      },
      std::chrono::seconds(20)));
  return pid;
}

}  // namespace

TEST_CASE("run_as: steps and git run as that user from a fresh environment, and nothing survives") {
  test::require_root("it creates a user and runs steps as that user");
  Harness h;
  std::string sha;
  const auto user = prepare(h, sha);
  h.env["WEBHOOK_SECRET"] = "pipeline-secret-value";
  h.steps =
      nlohmann::json::array({sh_step("who", "echo uid=$(id -u) gid=$(id -g); env | sort > env.txt"),
                             sh_step("escape", "setsid sleep 1000 & echo $! > escaped.pid")});
  const auto entry = h.webhook_push(sha);
  auto deployer = h.start();
  REQUIRE(h.wait_in("done", entry));
  const std::string log = run_logs(h);
  INFO(log);
  CHECK(log.find("uid=" + std::to_string(user.uid) + " gid=" + std::to_string(user.gid)) !=
        std::string::npos);
  const std::string env = test::read_file(h.app() / "env.txt");
  INFO(env);
  CHECK(env.find("USER=dpl-test-app\n") != std::string::npos);
  CHECK(env.find("LOGNAME=dpl-test-app\n") != std::string::npos);
  CHECK(env.find("HOME=/nonexistent\n") != std::string::npos);
  CHECK(env.find("PATH=/usr/local/bin:/usr/bin:/bin\n") != std::string::npos);
  CHECK(env.find("INSTANCE_NAME=app.example.com\n") != std::string::npos);
  CHECK(env.find("DEPLOY_SHA=" + sha + "\n") != std::string::npos);
  // Nothing of the deployer's own environment.
  for (const char* name : {"WEBHOOK_SECRET", "DATABASE_URL", "DEPLOY_ALLOW_ROOT", "SUDO_"}) {
    CHECK(env.find(name) == std::string::npos);
  }
  // git ran as the user: the checkout rewrote the index, which belongs to the user.
  struct stat st {};
  REQUIRE(::stat((h.app() / ".git" / "index").c_str(), &st) == 0);
  CHECK(st.st_uid == user.uid);
  // The setsid'd sleep ended with its step.
  const pid_t escaped = pid_in(h.app() / "escaped.pid");
  CHECK(test::eventually([&] { return test::deployer::process_gone(escaped); },
                         std::chrono::seconds(5)));
}

TEST_CASE("run_as: a step's timeout ends the processes it moved to another session") {
  test::require_root("it creates a user and runs steps as that user");
  Harness h;
  std::string sha;
  prepare(h, sha);
  h.steps = nlohmann::json::array({sh_step(
      "hang", "setsid sleep 1000 & echo $! > escaped.pid; sleep 1000", {{"timeout_s", 2}})});
  const auto entry = h.webhook_push(sha);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", entry, std::chrono::seconds(60)));
  CHECK(run_logs(h).find("timed out") != std::string::npos);
  const pid_t escaped = pid_in(h.app() / "escaped.pid");
  CHECK(test::eventually([&] { return test::deployer::process_gone(escaped); },
                         std::chrono::seconds(5)));
}

TEST_CASE("run_as: a SIGTERM to the deployer ends the step and everything it started") {
  test::require_root("it creates a user and runs steps as that user");
  Harness h;
  std::string sha;
  prepare(h, sha);
  h.steps = nlohmann::json::array(
      {sh_step("hang", "setsid sleep 1000 & echo $! > escaped.pid; sleep 1000")});
  h.webhook_push(sha);
  auto deployer = h.start();
  const pid_t escaped = pid_in(h.app() / "escaped.pid");
  deployer.signal(SIGTERM);
  CHECK(deployer.wait(std::chrono::seconds(15)).has_value());
  CHECK(test::eventually([&] { return test::deployer::process_gone(escaped); },
                         std::chrono::seconds(5)));
}

TEST_CASE("run_as: a step cannot read the pipeline's secrets, write its files or use sudo") {
  test::require_root("it creates a user and runs steps as that user");
  Harness h;
  std::string sha;
  prepare(h, sha);
  h.env["WEBHOOK_SECRET"] = "pipeline-secret-value";
  // The pipeline's secrets as the production setup keeps them: a 0600 file, and PM2's dump in a
  // 0700 PM2_HOME.
  test::write_file(h.tmp / "webhook-secret", "pipeline-secret-value\n");
  std::filesystem::permissions(h.tmp / "webhook-secret", std::filesystem::perms(0600));
  std::filesystem::create_directories(h.tmp / "pm2");
  std::filesystem::permissions(h.tmp / "pm2", std::filesystem::perms(0700));
  test::write_file(h.tmp / "pm2" / "dump.pm2", "[{\"env\":{\"WEBHOOK_SECRET\":\"x\"}}]");
  const auto bin = test::bin("deployer").parent_path();
  const std::string attack =
      "s=$(awk '{print $4}' /proc/$PPID/stat); d=$(awk '{print $4}' /proc/$s/stat)\n"
      "try() { what=$1; shift; if \"$@\" >/dev/null 2>err.txt; then echo \"LEAKED $what\";"
      " else echo \"DENIED $what: $(head -c 200 err.txt)\"; fi; }\n"
      "try environ cat /proc/$d/environ\n"
      "try secret-file cat " +
      (h.tmp / "webhook-secret").string() +
      "\n"
      "try dump.pm2 cat " +
      (h.tmp / "pm2" / "dump.pm2").string() +
      "\n"
      "try queue touch " +
      (h.dir("queue") / "00000000000000000001-x.json").string() +
      "\n"
      "try config sh -c 'echo x >> " +
      h.config_file().string() +
      "'\n"
      "try bin touch " +
      (bin / "evil").string() +
      "\n"
      "try sudo-certbot sudo -n /usr/bin/certbot --pre-hook 'touch /tmp/dpl-test-pwned' certonly\n"
      "try sudo-privileged sudo -n " +
      (bin / "deploy-privileged").string() + " nginx-install other other.conf /etc/shadow\n";
  h.steps = nlohmann::json::array({sh_step("attack", attack)});
  const auto entry = h.webhook_push(sha);
  auto deployer = h.start();
  const std::string config_before = test::read_file(h.config_file());
  REQUIRE(h.wait_in("done", entry));
  const std::string log = run_logs(h);
  INFO(log);
  // Output lines are "<time> | <text>"; the script itself, echoed above them, names LEAKED too.
  CHECK(log.find("| LEAKED") == std::string::npos);
  CHECK(log.find("pipeline-secret-value") == std::string::npos);
  for (const char* what : {"environ", "secret-file", "dump.pm2", "queue", "config", "bin"}) {
    CHECK(log.find("DENIED " + std::string(what) + ": ") != std::string::npos);
  }
  CHECK(log.find("DENIED environ: cat: /proc/") != std::string::npos);
  CHECK(log.find("Permission denied") != std::string::npos);
  CHECK(log.find("DENIED sudo-certbot: sudo: a password is required") != std::string::npos);
  CHECK(log.find("DENIED sudo-privileged: sudo: a password is required") != std::string::npos);
  // Nothing changed.
  CHECK(test::read_file(h.config_file()) == config_before);
  CHECK_FALSE(std::filesystem::exists(h.dir("queue") / "00000000000000000001-x.json"));
  CHECK_FALSE(std::filesystem::exists(bin / "evil"));
  CHECK_FALSE(std::filesystem::exists("/tmp/dpl-test-pwned"));
}

TEST_CASE("run_as: the deployer refuses a run_as that is root or does not exist") {
  Harness h;
  h.origin.commit({{"README.md", "a\n"}});
  h.clone();
  h.config_extra = {{"allow_root", false}};  // DEPLOY_ALLOW_ROOT=1 lets the tests run as root
  SECTION("root") {
    h.deployment_extra = {{"run_as", "root"}};
    auto d = h.start();
    CHECK(d.wait(std::chrono::seconds(20)) == 1);
    CHECK(h.wait_log("deployments.app.run_as: root is root"));
  }
  SECTION("a user that does not exist") {
    h.deployment_extra = {{"run_as", "dpl-test-nobody-here"}};
    auto d = h.start();
    CHECK(d.wait(std::chrono::seconds(20)) == 1);
    CHECK(h.wait_log("deployments.app.run_as: no user named dpl-test-nobody-here"));
  }
}
