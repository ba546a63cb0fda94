// The real things deploy-privileged drives, each started by the test in its own temp folder:
// Debian's nginx (its own prefix, configuration and conf.d on loopback ports), Debian's pebble
// (Let's Encrypt's ACME test server, with a TLS certificate from a throwaway CA) and
// pebble-challtestsrv as pebble's DNS server (every name resolves to 127.0.0.1, so pebble's
// http-01 validation reaches the test nginx, whose port is pebble's httpPort), and a policy file
// for the helper pointing at all of them. Every process is killed when its object goes away.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/temp_dir.hpp"

namespace test::privileged {

/// nginx under test. conf_dir() is included by its http block; the base server on port()
/// serves webroot()/.well-known/acme-challenge/ for http-01.
class Nginx {
 public:
  explicit Nginx(const std::filesystem::path& dir);
  std::filesystem::path conf_dir() const { return dir_ / "conf.d"; }
  std::filesystem::path webroot() const { return dir_ / "webroot"; }
  unsigned short port() const { return port_; }
  std::vector<std::string> test_argv() const;
  std::vector<std::string> reload_argv() const;

 private:
  std::filesystem::path dir_;
  unsigned short port_;
  std::optional<test::Child> process_;
};

/// pebble + challtestsrv; http-01 validations go to `http_port`.
class Pebble {
 public:
  Pebble(const std::filesystem::path& dir, unsigned short http_port);
  std::string directory_url() const;
  std::filesystem::path ca_bundle() const { return dir_ / "ca.pem"; }

 private:
  std::filesystem::path dir_;
  unsigned short port_;
  std::optional<test::Child> dns_, pebble_;
};

/// A temp folder with nginx, pebble (with_acme only: it costs two RSA keys and a server) and a
/// policy allowing deployments "site-a" (a.conf, a.dpl-test.example) and "site-b" (b.conf,
/// b.dpl-test.example).
class Setup {
 public:
  enum Acme { without_acme, with_acme };
  explicit Setup(Acme acme = without_acme);
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path policy_file() const { return dir() / "privileged.json"; }
  std::filesystem::path audit_log() const { return dir() / "audit.log"; }
  std::filesystem::path live_dir() const { return dir() / "letsencrypt" / "live"; }
  const Nginx& nginx() const { return *nginx_; }
  nlohmann::json policy() const { return policy_; }
  /// Rewrites the policy file (root-owned, 0644).
  void write_policy(const nlohmann::json& policy);

  /// Runs build/bin/deploy-privileged --policy <policy file> args... as root, `env` added.
  test::RunResult helper(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {}) const;

  /// The names and contents of the files in conf_dir (dot-files too), to prove nothing changed.
  std::map<std::string, std::string> conf_snapshot() const;

  /// GET / on 127.0.0.1:port; the body, or nullopt when nothing answers.
  static std::optional<std::string> get(unsigned short port);

 private:
  test::TempDir dir_{"privileged"};
  std::optional<Nginx> nginx_;
  std::optional<Pebble> pebble_;
  nlohmann::json policy_;
};

}  // namespace test::privileged
