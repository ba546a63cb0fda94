// deploy_site_test.cpp: the deployment keys `certificates` and `nginx`, end to end: the REAL
// deployer calls the REAL deploy-privileged (as root with --policy, as tests may; production goes
// through sudo), which drives a real nginx and obtains a real certificate from pebble. Checked:
// the certificate comes before the site that uses it, the site goes live with its release at
// activation, a site nginx rejects fails the deploy with nginx's message while the old site and
// release stay live, a failure after the install puts the good release's site back with the
// release, and a site the policy does not allow is refused with the helper's one line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "tests/deployer/harness.hpp"
#include "tests/privileged/harness.hpp"

using test::deployer::Harness;
using test::deployer::sh_step;
using test::privileged::Setup;
namespace fs = std::filesystem;

namespace {

// Plain HTTP on `port` (what the test reads) and TLS on `tls` with the deployment's certificate:
// nginx -t fails unless the certificate exists.
std::string site(const Setup& setup, unsigned short port, unsigned short tls,
                 const std::string& body) {
  const auto live = setup.live_dir() / "a.dpl-test.example";
  return "server {\n  listen 127.0.0.1:" + std::to_string(port) +
         ";\n  listen 127.0.0.1:" + std::to_string(tls) +
         " ssl;\n  server_name a.dpl-test.example;\n  ssl_certificate " +
         (live / "fullchain.pem").string() + ";\n  ssl_certificate_key " +
         (live / "privkey.pem").string() + ";\n  location / { return 200 \"" + body +
         "\\n\"; }\n}\n";
}

std::string run_logs(Harness& h) {
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(h.dir("logs"))) {
    if (e.is_regular_file()) out += test::read_file(e.path());
  }
  return out;
}

// The deployer's helper: deploy-privileged with the test's policy, for deployment "app".
void use_helper(Setup& setup, Harness& h) {
  auto policy = setup.policy();
  policy["deployments"]["app"] = {{"sites", {"a.conf"}}, {"domains", {"a.dpl-test.example"}}};
  setup.write_policy(policy);
  h.config_extra["privileged_command"] = {test::bin("deploy-privileged").string(), "--policy",
                                          setup.policy_file().string()};
}

}  // namespace

TEST_CASE("certificates and the nginx site go live with their release and are reverted with it") {
  Setup setup(Setup::with_acme);
  Harness h;
  use_helper(setup, h);
  const unsigned short port = test::free_port();
  const unsigned short tls = test::free_port();
  h.deployment_extra = {{"remote", h.origin.url().string()},
                        {"releases", {{"keep", 3}}},
                        {"certificates", {"a.dpl-test.example"}},
                        {"nginx", {{"site", "deploy/site.conf"}, {"name", "a.conf"}}},
                        {"activate", nlohmann::json::array({sh_step("start", "test ! -e BREAK")})}};
  const auto a = h.origin.commit({{"deploy/site.conf", site(setup, port, tls, "v1")}});
  const auto b = h.origin.commit(
      {{"deploy/site.conf", "server { listen 127.0.0.1:1; no_such_directive on; }\n"}});
  const auto c = h.origin.commit(
      {{"deploy/site.conf", site(setup, port, tls, "v3")}, {"BREAK", "the activate step fails\n"}});
  auto deployer = h.start();

  const auto first = h.webhook_push(a);
  REQUIRE(h.wait_in("done", first, std::chrono::seconds(120)));
  CHECK(fs::exists(setup.live_dir() / "a.dpl-test.example" / "fullchain.pem"));
  CHECK(test::read_file(setup.nginx().conf_dir() / "a.conf") == site(setup, port, tls, "v1"));
  CHECK(test::eventually([&] { return Setup::get(port) == "v1\n"; }));
  const auto live = fs::read_symlink(h.app() / "current");
  {
    const std::string log = run_logs(h);
    INFO(log);
    // The certificate first, then the site (whose nginx -t needs it).
    const auto certbot = log.find("certificates: ");
    const auto install = log.find("nginx: ");
    REQUIRE(certbot != std::string::npos);
    REQUIRE(install != std::string::npos);
    CHECK(certbot < install);
    CHECK(log.find("installed a.conf for app and reloaded nginx") != std::string::npos);
  }

  // nginx rejects the site: the deploy fails with nginx's message, the old site and release stay.
  const auto second = h.webhook_push(b);
  REQUIRE(h.wait_in("failed", second, std::chrono::seconds(120)));
  const std::string error = test::read_file(h.dir("failed") / (second + ".error.json"));
  INFO(error);
  CHECK(error.find("unknown directive") != std::string::npos);
  CHECK(test::read_file(setup.nginx().conf_dir() / "a.conf") == site(setup, port, tls, "v1"));
  CHECK(fs::read_symlink(h.app() / "current") == live);
  CHECK(Setup::get(port) == "v1\n");

  // The site installs, then the activate step fails: release and site go back together.
  const auto third = h.webhook_push(c);
  REQUIRE(h.wait_in("failed", third, std::chrono::seconds(120)));
  CHECK(fs::read_symlink(h.app() / "current") == live);
  CHECK(test::read_file(setup.nginx().conf_dir() / "a.conf") == site(setup, port, tls, "v1"));
  CHECK(test::eventually([&] { return Setup::get(port) == "v1\n"; }));
  // Installed (the release's site), then installed again (the good release's) by the revert.
  const std::string log = test::read_file(h.dir("logs") / (third + ".log"));
  INFO(log);
  std::size_t installs = 0;
  for (auto at = log.find("installed a.conf for app and reloaded nginx"); at != std::string::npos;
       at = log.find("installed a.conf for app and reloaded nginx", at + 1)) {
    ++installs;
  }
  CHECK(installs == 2);
  // Every call went through the helper's audit log.
  const std::string audit = test::read_file(setup.audit_log());
  INFO(audit);
  CHECK(audit.find("command=certbot") != std::string::npos);
  CHECK(audit.find("command=nginx-install") != std::string::npos);
}

TEST_CASE("a site the policy does not allow fails the deploy with the helper's refusal") {
  Setup setup;
  Harness h;
  use_helper(setup, h);
  const auto a = h.origin.commit({{"site.conf", "server { listen 127.0.0.1:1; }\n"}});
  h.clone();  // in place
  h.deployment_extra = {{"nginx", {{"site", "site.conf"}, {"name", "b.conf"}}}};
  const auto entry = h.webhook_push(a);
  auto deployer = h.start();
  REQUIRE(h.wait_in("failed", entry, std::chrono::seconds(60)));
  const std::string error = test::read_file(h.dir("failed") / (entry + ".error.json"));
  INFO(error);
  CHECK(error.find("refused: site b.conf is not allowed for deployment app") != std::string::npos);
  CHECK(setup.conf_snapshot().empty());
}
