// run_as_test.cpp: a deployment with run_as, deployed by the REAL deployer (as root, as in CI)
// through real sudo and deploy-step as a real user (dpl-test-app): steps and git run as that
// user in an environment built from scratch, the changed paths handed over in a file of the
// user's own; nothing a step starts outlives it (its own exit, a
// timeout, a SIGTERM to the deployer); and a step acting as an attacker can read none of the
// pipeline's secrets, write none of its files, and get nothing from sudo. The deployer refuses a
// run_as that is root or missing.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
                             sh_step("changed",
                                     "cat \"$DEPLOY_CHANGED_FILES\" > changed.txt; "
                                     "echo \"$DEPLOY_CHANGED_FILES\" > changed-path.txt"),
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
  // The changed paths reached the step although the deployer's copy is in its private folder:
  // deploy-step wrote them to a file of the user's own, removed after the step.
  CHECK(test::read_file(h.app() / "changed.txt") == "README.md\n");
  const std::string handed = test::read_file(h.app() / "changed-path.txt");
  CHECK(handed.starts_with("/tmp/deploy-step-"));
  CHECK_FALSE(std::filesystem::exists(handed.substr(0, handed.size() - 1)));
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

TEST_CASE(
    "run_as in release mode: the user builds in its own folders, only the deployer switches") {
  test::require_root("it creates a user and runs steps as that user");
  namespace fs = std::filesystem;
  Harness h;
  const auto user = test::ensure_user("dpl-test-app");
  const auto a = h.origin.commit({{"README.md", "a\n"}});
  const auto b = h.origin.commit({{"README.md", "b\n"}});
  const auto c = h.origin.commit({{"FAIL", "x\n"}});
  chown_tree(h.origin.url(), user);  // git reads it as the user
  h.deployment_extra = {{"run_as", user.name},
                        {"remote", h.origin.url().string()},
                        {"releases", {{"keep", 1}, {"shared", {".env"}}}}};
  // The step builds, then tries to take over what stays the deployer's: `current` and the root.
  h.steps = nlohmann::json::array({sh_step(
      "build",
      "test ! -e FAIL || exit 7; id -u > uid.txt\n"
      "if ln -sfn \"$DEPLOY_RELEASE_DIR\" \"$DEPLOY_ROOT/current\" 2>/dev/null; then echo "
      "\"LEAKED current\"; else echo \"DENIED current\"; fi\n"
      "if touch \"$DEPLOY_ROOT/planted\" 2>/dev/null; then echo \"LEAKED root\"; else echo "
      "\"DENIED root\"; fi")});
  auto deployer = h.start();
  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first));
  const auto second = h.webhook_push(b);
  REQUIRE(h.wait_in("done", second));
  const std::string log = run_logs(h);
  INFO(log);
  CHECK(log.find("| LEAKED") == std::string::npos);
  CHECK(log.find("| DENIED current") != std::string::npos);
  CHECK(log.find("| DENIED root") != std::string::npos);
  CHECK_FALSE(fs::exists(h.app() / "planted"));

  const auto owner = [](const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_uid;
  };
  const auto current = h.app() / "current";
  const std::string live = fs::read_symlink(current).filename().string();
  CHECK(test::read_file(current / "REVISION") == b + "\n");
  CHECK(test::read_file(current / "uid.txt") == std::to_string(user.uid) + "\n");
  // The folders the user builds in are its own; the root and `current` are the deployer's.
  for (const auto& p : {h.app() / "repo.git", h.app() / "releases", h.app() / "shared",
                        h.app() / "shared" / ".env", h.app() / "releases" / live,
                        h.app() / "releases" / live / "REVISION", h.app() / "repo.git" / "HEAD"}) {
    INFO(p);
    CHECK(owner(p) == user.uid);
  }
  CHECK(owner(h.app()) == 0);
  CHECK(owner(current) == 0);
  CHECK(fs::is_symlink(current / ".env"));

  // A failing build: its release is removed (as the user), `current` is untouched.
  const auto kept = [&] {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(h.app() / "releases")) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto before = kept();
  const auto third = h.webhook_push(c);
  REQUIRE(h.wait_in("failed", third));
  CHECK(kept() == before);
  CHECK(fs::read_symlink(current).filename().string() == live);
  CHECK(run_logs(h).find("cannot remove release") == std::string::npos);
}

TEST_CASE("run_as in release mode: folders of another owner are refused with the fix") {
  test::require_root("it creates a user and runs steps as that user");
  Harness h;
  const auto user = test::ensure_user("dpl-test-app");
  const auto a = h.origin.commit({{"README.md", "a\n"}});
  std::filesystem::create_directories(h.app() / "releases");  // root's, not the user's
  h.deployment_extra = {
      {"run_as", user.name}, {"remote", h.origin.url().string()}, {"releases", {{"keep", 1}}}};
  const auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", entry));
  const std::string log = run_logs(h);
  INFO(log);
  CHECK(log.find((h.app() / "releases").string() + " belongs to uid 0, not to dpl-test-app") !=
        std::string::npos);
  CHECK(log.find("install -d -o dpl-test-app") != std::string::npos);
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
  SECTION("root, in a configuration reloaded by SIGHUP: refused, the deployer goes on") {
    auto d = h.start();
    REQUIRE(h.wait_log("deployer started"));
    h.deployment_extra = {{"run_as", "root"}};
    h.write_config();
    d.signal(SIGHUP);
    CHECK(h.wait_log("deployments.app.run_as: root is root"));
    CHECK_FALSE(d.wait(std::chrono::seconds(1)).has_value());
    CHECK(d.running());
  }
}
