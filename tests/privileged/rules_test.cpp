// rules_test.cpp: the root helper's rules on their own: the policy's shape and errors, site and
// domain names, the nginx directive check, the certbot argv, who may choose the policy, and
// reading the caller's file with the caller's own rights (a real user; needs root).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "deploy-privileged/commands.hpp"
#include "deploy-privileged/policy.hpp"
#include "deploy-privileged/site_file.hpp"
#include "deploy-privileged/site_rules.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/users.hpp"

using namespace privileged;

namespace {

nlohmann::json example() {
  return nlohmann::json::parse(R"({
    "nginx": { "conf_dir": "/etc/nginx/conf.d", "test": ["/usr/sbin/nginx", "-t"],
               "reload": ["/usr/bin/systemctl", "reload", "nginx"] },
    "acme":  { "server": "https://acme-v02.api.letsencrypt.org/directory", "ca_bundle": null,
               "webroot": "/var/www/letsencrypt", "email": "ops@example.com" },
    "deployments": { "durhack": { "sites": ["api.durhack.com.conf"], "domains": ["api.durhack.com"] } } })");
}

std::string parse_error(const nlohmann::json& doc) {
  try {
    parse_policy(doc.dump(), "p.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the issue's example policy parses") {
  const Policy p = parse_policy(example().dump(), "p.json");
  CHECK(p.nginx.conf_dir == "/etc/nginx/conf.d");
  CHECK(p.nginx.test == std::vector<std::string>{"/usr/sbin/nginx", "-t"});
  CHECK_FALSE(p.acme.ca_bundle);
  CHECK(p.acme.live_dir() == "/etc/letsencrypt/live");
  CHECK(p.deployments.at("durhack").sites == std::vector<std::string>{"api.durhack.com.conf"});
}

TEST_CASE("policy errors name the key") {
  auto doc = example();
  doc["nginx"]["test"] = {"nginx", "-t"};
  CHECK(parse_error(doc) == "p.json: nginx.test[0]: must be the program's absolute path");
  doc = example();
  doc["nginx"]["conf_dir"] = "conf.d";
  CHECK(parse_error(doc) == "p.json: nginx.conf_dir: must be an absolute path");
  doc = example();
  doc["deployments"]["durhack"]["sites"] = {"../x.conf"};
  CHECK(parse_error(doc) == "p.json: deployments.durhack.sites[0]: is not a valid site name");
  doc = example();
  doc["deployments"]["durhack"]["domains"] = {"-x.com"};
  CHECK(parse_error(doc) == "p.json: deployments.durhack.domains[0]: is not a valid domain");
  doc = example();
  doc["acme"]["hooks"] = "x";
  CHECK(parse_error(doc) == "p.json: acme.hooks: unknown key");
  doc = example();
  doc["acme"]["server"] = "http://acme";
  CHECK(parse_error(doc) == "p.json: acme.server: must be an https URL");
}

TEST_CASE("site names and domains are strict") {
  CHECK(valid_site_name("api.durhack.com.conf"));
  CHECK(valid_site_name("a_b-c.conf"));
  for (const char* bad :
       {"", ".conf", ".x.conf", "../x.conf", "a/b.conf", "a.conf ", "x", "a.cnf", "-a.conf"}) {
    INFO(bad);
    CHECK_FALSE(valid_site_name(bad));
  }
  CHECK(valid_domain("api.durhack.com"));
  CHECK(valid_domain("a-1.example"));
  for (const char* bad : {"", "localhost", "API.durhack.com", "-a.com", "a-.com", "a..com",
                          "a.com.", "*.a.com", "a.com/x", "--pre-hook=x"}) {
    INFO(bad);
    CHECK_FALSE(valid_domain(bad));
  }
}

TEST_CASE("the directive check allows ordinary sites and refuses what root's nginx would open") {
  const std::vector<std::string> domains{"a.example.com"};
  const std::filesystem::path live = "/etc/letsencrypt/live";
  const std::string ok =
      "# a site\nserver {\n listen 443 ssl;\n server_name a.example.com;\n"
      " ssl_certificate /etc/letsencrypt/live/a.example.com/fullchain.pem;\n"
      " ssl_certificate_key \"/etc/letsencrypt/live/a.example.com/privkey.pem\";\n"
      " access_log /var/log/nginx/a.log;\n error_log off;\n"
      " location / { proxy_pass http://127.0.0.1:3000; root /var/www/a; }\n"
      " location /x { return 200 'include /etc/shadow;'; }\n}\n";
  CHECK(check_site_config(ok, domains, live) == std::nullopt);

  const std::vector<std::pair<std::string, std::string>> bad{
      {"include /etc/shadow;", "line 1: the directive include is not allowed in a site file"},
      {"server {\n  \"include\" /etc/shadow;\n}", "line 2: the directive include is not allowed"},
      {"load_module /tmp/x.so;", "load_module is not allowed"},
      {"server { client_body_temp_path /etc; }", "client_body_temp_path is not allowed"},
      {"proxy_cache_path /etc keys_zone=x:1m;", "proxy_cache_path is not allowed"},
      {"server { access_log /etc/cron.d/x; }", "access_log may only be"},
      {"server { access_log /var/log/nginx/../../../etc/x; }", "access_log may only be"},
      {"perl_require /tmp/x.pm;", "perl_require is not allowed"},
      {"js_import /tmp/x.js;", "js_import is not allowed"},
      {"server { ssl_certificate /etc/letsencrypt/live/b.example.com/fullchain.pem; }",
       "ssl_certificate may only name a file of this deployment's certificates"},
      {"server { ssl_certificate_key /etc/ssl/private/x.key; }", "ssl_certificate_key may only"},
      {"server { ssl_trusted_certificate /etc/shadow; }", "ssl_trusted_certificate is not allowed"},
      {"server { proxy_ssl_certificate_key /etc/shadow; }", "proxy_ssl_certificate_key is not"},
      {"server { ssl_password_file /etc/shadow; }", "ssl_password_file is not allowed"},
      {"server { return 200 \"x; }", "unterminated quote on line 1"},
  };
  for (const auto& [text, expected] : bad) {
    INFO(text);
    const auto problem = check_site_config(text, domains, live);
    REQUIRE(problem);
    CHECK(problem->find(expected) != std::string::npos);
  }
}

TEST_CASE("certbot runs with fixed arguments and no hooks") {
  Policy p = parse_policy(example().dump(), "p.json");
  const auto argv = certbot_argv(p, {"api.durhack.com"});
  CHECK(argv.front() == "/usr/bin/certbot");
  CHECK(argv[1] == "certonly");
  CHECK(std::find(argv.begin(), argv.end(), "--webroot") != argv.end());
  CHECK(std::find(argv.begin(), argv.end(), "--non-interactive") != argv.end());
  for (const auto& a : argv) CHECK(a.find("hook") == std::string::npos);
  CHECK(argv.back() == "api.durhack.com");
  CHECK(argv[argv.size() - 2] == "--domain");
}

TEST_CASE("only root itself, not through sudo, may choose the policy file") {
  Caller root;
  CHECK(policy_path_for(std::nullopt, root) == kDefaultPolicyPath);
  CHECK(policy_path_for(std::filesystem::path("/tmp/p.json"), root) == "/tmp/p.json");
  Caller via_sudo;
  via_sudo.sudo_uid = 1000;
  CHECK_THROWS_WITH(policy_path_for(std::filesystem::path("/tmp/p.json"), via_sudo),
                    Catch::Contains("refused: --policy is accepted only from root itself"));
  CHECK(policy_path_for(std::nullopt, via_sudo) == kDefaultPolicyPath);
  Caller user;
  user.uid = 1000;
  CHECK_THROWS_AS(policy_path_for(std::filesystem::path("/tmp/p.json"), user), Refused);
}

TEST_CASE("the caller's file is read with the caller's own rights") {
  test::require_root("it reads files as another, real user");
  const auto user = test::ensure_user("dpl-test-app");
  test::TempDir dir("privileged-read");
  test::write_file(dir / "site.conf", "server {}\n");
  CHECK(read_caller_file(dir / "site.conf", user.uid, user.gid) == "server {}\n");
  // A root-only file: readable by root, not by the caller.
  std::filesystem::create_directories(dir / "private");
  std::filesystem::permissions(dir / "private", std::filesystem::perms(0700));
  test::write_file(dir / "private" / "x.conf", "secret\n");
  CHECK_THROWS_WITH(read_caller_file(dir / "private" / "x.conf", user.uid, user.gid),
                    Catch::Contains("Permission denied"));
  // A hard link to /etc/shadow (same filesystem here): the caller cannot open it.
  if (::link("/etc/shadow", (dir / "shadow.conf").c_str()) == 0) {
    CHECK_THROWS_WITH(read_caller_file(dir / "shadow.conf", user.uid, user.gid),
                      Catch::Contains("Permission denied"));
  }
  std::filesystem::create_symlink("/etc/shadow", dir / "link.conf");
  CHECK_THROWS_WITH(read_caller_file(dir / "link.conf", user.uid, user.gid),
                    Catch::Contains("is or passes through a symbolic link"));
  // Root's own identity is back afterwards.
  CHECK(::geteuid() == 0);
  CHECK(::getegid() == 0);
}
