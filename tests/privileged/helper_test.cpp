// helper_test.cpp: the REAL deploy-privileged binary against a real nginx (started by the test
// on loopback ports with its own configuration folder) and a real ACME server (Debian's pebble):
// installing a site, obtaining a certificate through http-01 served by that nginx and serving
// it, and every attack the issue lists, each refused with one clear line while nothing changes.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/privileged/harness.hpp"
#include "tests/support/users.hpp"

using test::privileged::Setup;

namespace {

std::string site(unsigned short port, const std::string& body) {
  return "server {\n  listen 127.0.0.1:" + std::to_string(port) +
         ";\n  location / { return 200 \"" + body + "\\n\"; }\n}\n";
}

// One line on stderr: "deploy-privileged: error: refused: ..."
void check_refused(const test::RunResult& r, const std::string& words) {
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.starts_with("deploy-privileged: error: refused: "));
  CHECK(r.output.find(words) != std::string::npos);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("nginx-install installs a site, nginx -t passes and the reload serves it") {
  Setup setup;
  const unsigned short port = test::free_port();
  test::write_file(setup.dir() / "a.conf", site(port, "site a v1"));
  auto r = setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "a.conf").string()});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(test::read_file(setup.nginx().conf_dir() / "a.conf") == site(port, "site a v1"));
  CHECK(test::eventually([&] { return Setup::get(port) == "site a v1\n"; }));
  // The file is root's and readable, and no temporary file is left behind.
  struct stat st {};
  REQUIRE(::stat((setup.nginx().conf_dir() / "a.conf").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(setup.conf_snapshot().size() == 1);
  // A second version replaces the first.
  test::write_file(setup.dir() / "a.conf", site(port, "site a v2"));
  r = setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "a.conf").string()});
  REQUIRE(r.status == 0);
  CHECK(test::eventually([&] { return Setup::get(port) == "site a v2\n"; }));
  CHECK(test::read_file(setup.audit_log()).find("info deploy-privileged: ok") != std::string::npos);
}

TEST_CASE("a site that fails nginx -t is refused by nginx and the previous file is restored") {
  Setup setup;
  const unsigned short port = test::free_port();
  test::write_file(setup.dir() / "good.conf", site(port, "good"));
  REQUIRE(setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "good.conf").string()})
              .status == 0);
  REQUIRE(test::eventually([&] { return Setup::get(port) == "good\n"; }));
  const auto before = setup.conf_snapshot();

  test::write_file(setup.dir() / "bad.conf",
                   "server { listen 127.0.0.1:1; no_such_directive on; }\n");
  auto r = setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "bad.conf").string()});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("the nginx configuration test failed") != std::string::npos);
  CHECK(r.output.find("unknown directive \"no_such_directive\"") != std::string::npos);
  CHECK(r.output.find("previous a.conf is restored") != std::string::npos);
  CHECK(setup.conf_snapshot() == before);
  CHECK(Setup::get(port) == "good\n");

  // A first install that fails leaves no file at all.
  r = setup.helper({"nginx-install", "site-b", "b.conf", (setup.dir() / "bad.conf").string()});
  CHECK(r.status == 1);
  CHECK(setup.conf_snapshot() == before);
  CHECK(test::read_file(setup.audit_log()).find("warn deploy-privileged: failed") !=
        std::string::npos);
}

TEST_CASE("nginx-install refuses what the policy does not allow, and nothing changes") {
  Setup setup;
  const unsigned short port = test::free_port();
  test::write_file(setup.dir() / "a.conf", site(port, "a"));
  const std::string file = (setup.dir() / "a.conf").string();
  const auto before = setup.conf_snapshot();
  bool audited = true;  // refusals after the policy is read go to its log_file

  SECTION("another deployment's site") {
    check_refused(setup.helper({"nginx-install", "site-a", "b.conf", file}),
                  "site b.conf is not allowed for deployment site-a");
  }
  SECTION("a deployment the policy does not name") {
    check_refused(setup.helper({"nginx-install", "nope", "a.conf", file}),
                  "deployment nope is not in the policy");
  }
  SECTION("a site name that is a path") {
    check_refused(setup.helper({"nginx-install", "site-a", "../a.conf", file}),
                  "site ../a.conf is not a valid site file name");
  }
  SECTION("a symlink to /etc/shadow") {
    std::filesystem::create_symlink("/etc/shadow", setup.dir() / "shadow.conf");
    check_refused(
        setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "shadow.conf").string()}),
        "is or passes through a symbolic link");
  }
  SECTION("a path through a symlinked folder") {
    std::filesystem::create_directories(setup.dir() / "real");
    test::write_file(setup.dir() / "real" / "a.conf", site(port, "a"));
    std::filesystem::create_directory_symlink(setup.dir() / "real", setup.dir() / "linked");
    check_refused(setup.helper({"nginx-install", "site-a", "a.conf",
                                (setup.dir() / "linked" / "a.conf").string()}),
                  "is or passes through a symbolic link");
  }
  SECTION("a folder, not a file") {
    check_refused(setup.helper({"nginx-install", "site-a", "a.conf", setup.dir().string()}),
                  "not a regular file");
  }
  SECTION("a file larger than the limit") {
    test::write_file(setup.dir() / "huge.conf", std::string(300 * 1024, '#'));
    check_refused(
        setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "huge.conf").string()}),
        "is larger than 256 KiB");
  }
  SECTION("a site that includes a root-only file") {
    test::write_file(setup.dir() / "inc.conf", "include /etc/shadow;\n");
    check_refused(
        setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "inc.conf").string()}),
        "the directive include is not allowed");
  }
  SECTION("a site whose temp path would make nginx chown a system folder") {
    test::write_file(setup.dir() / "tmp.conf",
                     "server { listen 127.0.0.1:1; client_body_temp_path /etc/sudoers.d; }\n");
    check_refused(
        setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "tmp.conf").string()}),
        "client_body_temp_path is not allowed");
  }
  SECTION("a site logging into /etc") {
    test::write_file(setup.dir() / "log.conf", "server { error_log /etc/cron.d/x; }\n");
    check_refused(
        setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "log.conf").string()}),
        "error_log may only be");
  }
  SECTION("--policy through sudo") {
    check_refused(setup.helper({"nginx-install", "site-a", "a.conf", file},
                               {{"SUDO_UID", "1000"}, {"SUDO_GID", "1000"}}),
                  "--policy is accepted only from root itself");
    audited = false;  // refused before any policy is read: the line goes to syslog
  }
  CHECK(setup.conf_snapshot() == before);
  if (audited) {
    const bool logged =
        test::read_file(setup.audit_log()).find("warn deploy-privileged: refused") !=
        std::string::npos;
    CHECK(logged);
  }
}

TEST_CASE("a policy someone else can change is not used") {
  Setup setup;
  const auto user = test::ensure_user("dpl-test-app");
  test::write_file(setup.dir() / "a.conf", site(test::free_port(), "a"));
  const std::string file = (setup.dir() / "a.conf").string();
  SECTION("writable by others") {
    std::filesystem::permissions(setup.policy_file(), std::filesystem::perms(0666));
  }
  SECTION("owned by another user") {
    REQUIRE(::chown(setup.policy_file().c_str(), user.uid, user.gid) == 0);
  }
  std::string policy = setup.policy_file().string();
  SECTION("in a folder another user owns") {
    const auto folder = setup.dir() / "theirs";
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(setup.policy_file(), folder / "privileged.json");
    REQUIRE(::chown(folder.c_str(), user.uid, user.gid) == 0);
    policy = (folder / "privileged.json").string();
  }
  auto r = test::run({test::bin("deploy-privileged").string(), "--policy", policy, "nginx-install",
                      "site-a", "a.conf", file});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("refusing a policy that someone other than root can change") !=
        std::string::npos);
  CHECK(setup.conf_snapshot().empty());
}

TEST_CASE("certbot obtains a real certificate from pebble through nginx and the site serves it") {
  Setup setup(Setup::with_acme);
  auto r = setup.helper({"certbot", "site-a", "a.dpl-test.example"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto live = setup.live_dir() / "a.dpl-test.example";
  REQUIRE(std::filesystem::exists(live / "fullchain.pem"));
  // Installed: a TLS site using it, checked by a TLS handshake that verifies against pebble's
  // issuing chain.
  const unsigned short tls = test::free_port();
  test::write_file(setup.dir() / "tls.conf",
                   "server {\n  listen 127.0.0.1:" + std::to_string(tls) +
                       " ssl;\n  server_name a.dpl-test.example;\n  ssl_certificate " +
                       (live / "fullchain.pem").string() + ";\n  ssl_certificate_key " +
                       (live / "privkey.pem").string() + ";\n  return 200 \"tls\\n\";\n}\n");
  r = setup.helper({"nginx-install", "site-a", "a.conf", (setup.dir() / "tls.conf").string()});
  REQUIRE(r.status == 0);
  test::RunResult served{};
  CHECK(test::eventually(
      [&] {
        served = test::run(
            {"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(tls),
             "-servername", "a.dpl-test.example", "-showcerts"},
            {}, std::chrono::seconds(10));
        return served.output.find("a.dpl-test.example") != std::string::npos;
      },
      std::chrono::seconds(10)));
  INFO(served.output);
  CHECK(served.output.find("CN = a.dpl-test.example") != std::string::npos);
  // A second call keeps the certificate (not expiring): nothing is re-issued.
  const auto cert = test::read_file(live / "cert.pem");
  r = setup.helper({"certbot", "site-a", "a.dpl-test.example"});
  CHECK(r.status == 0);
  CHECK(test::read_file(live / "cert.pem") == cert);
}

TEST_CASE("certbot refuses a domain outside the policy and runs nothing") {
  Setup setup;
  check_refused(setup.helper({"certbot", "site-a", "b.dpl-test.example"}),
                "domain b.dpl-test.example is not allowed for deployment site-a");
  check_refused(setup.helper({"certbot", "site-a", "a.dpl-test.example", "-", "x;touch /x"}),
                "domain - is not a valid domain name");
  // An option such as --pre-hook is not even a command line the helper accepts.
  auto r = setup.helper({"certbot", "site-a", "a.dpl-test.example", "--pre-hook", "touch /x"});
  CHECK(r.status == 2);
  CHECK(r.output.find("--pre-hook") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(setup.live_dir()));
}

TEST_CASE("nginx-reload tests first and refuses an unknown deployment") {
  Setup setup;
  CHECK(setup.helper({"nginx-reload", "site-b"}).status == 0);
  check_refused(setup.helper({"nginx-reload", "nope"}), "deployment nope is not in the policy");
}
