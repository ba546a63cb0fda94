// Simulated hosts on one machine (docs/hosts.md "Trying it on one machine"): one configuration
// file for the whole fleet whose state_dir holds ${DEPLOY_HOST}, so each host's receiver and
// router (the real binaries, started with their own --host) have their own state folder, and
// one real PostgreSQL database (a fresh one in the fixture cluster) is the shared ledger.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "queue-layout/layout.hpp"
#include "tests/support/child.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace hosts_test {

using namespace std::chrono_literals;

inline constexpr const char* kSecret = "hosts-webhook-secret";

/// The fleet: a folder, a migrated database and the configuration file all hosts share.
class Fleet {
 public:
  /// Deployment "site" of example/app@main on `hosts`; `rescan_s` is the router's poll period.
  /// `url`: empty for a fresh database in the fixture cluster, else that database (migrated here).
  /// `site`: keys added to (or replacing those of) the deployment, e.g. releases and steps;
  /// `top`: top-level keys likewise (e.g. github).
  explicit Fleet(std::vector<std::string> hosts, std::uint32_t rescan_s = 2, std::string url = "",
                 const nlohmann::json& site = nlohmann::json::object(),
                 const nlohmann::json& top = nlohmann::json::object());

  const std::filesystem::path& root() const { return root_.path(); }
  const std::filesystem::path& config() const { return config_; }
  const std::string& url() const { return url_; }
  /// The layout of `host`'s state folder (root/var/<host>).
  queue_layout::Layout layout(const std::string& host) const;
  /// The deployment's path on `host` (root/srv/<host>/site).
  std::filesystem::path site_path(const std::string& host) const;

  /// One number from the ledger (SELECT count(*) ...).
  long long count(const std::string& sql) const;

 private:
  test::TempDir root_;
  std::unique_ptr<test::Database> database_;
  std::string url_;
  std::filesystem::path config_;
};

/// One simulated host: its receiver, router and deployer of "site", each optional.
class Host {
 public:
  Host(const Fleet& fleet, std::string name);
  /// The database its programs use from the next start on (a relay in front of the fleet's, to
  /// cut it off); the fleet's by default.
  void use_database(std::string url) { database_url_ = std::move(url); }
  /// An environment variable of its programs from the next start on (it wins over the default).
  void set_env(const std::string& name, std::string value) { env_[name] = std::move(value); }

  const std::string& name() const { return name_; }
  queue_layout::Layout layout() const { return fleet_.layout(name_); }
  /// Canonical entries in the host's queues/site/.
  std::vector<std::string> queued() const;

  /// Starts the receiver (listen.port 0) and returns once it listens; its port is then port().
  void start_receiver();
  unsigned short port() const { return port_; }
  void start_router();
  /// SIGTERM and wait: the exit status.
  int stop_router();
  void kill9_router();
  void start_deployer();
  /// SIGTERM and wait: the exit status.
  int stop_deployer();
  void kill9_deployer();
  /// kill -9 of every program of the host, as when the machine dies.
  void kill9_all();
  /// Everything this host's programs wrote.
  std::string log() const;
  int count_log(const std::string& needle) const;

 private:
  std::map<std::string, std::string> env() const;
  std::vector<std::string> argv(const std::string& program) const;

  const Fleet& fleet_;
  std::string name_;
  std::optional<test::Child> receiver_;
  std::optional<test::Child> router_;
  std::optional<test::Child> deployer_;
  std::string database_url_;
  std::map<std::string, std::string> env_;
  unsigned short port_ = 0;
};

/// A push of example/app to main at `sha`, as GitHub sends it.
std::string push_body(const std::string& sha);
/// POSTs a signed push with delivery id `delivery` to 127.0.0.1:port; the HTTP status.
int send_push(unsigned short port, const std::string& delivery, const std::string& body);
/// A 40-hex sha unique to `n`.
std::string sha(unsigned n);
/// Canonical entries in `dir`, sorted.
std::vector<std::string> entries(const std::filesystem::path& dir);

}  // namespace hosts_test
