// Harness for the router's integration tests: a temporary state directory and configuration, a
// migrated PostgreSQL database (a fresh one in the fixture cluster, or any url given), the real
// router binary as a child process, and builders for inbox entries.
#pragma once

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ledger/ledger.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/name.hpp"
#include "tests/support/child.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace router_test {

using namespace std::chrono_literals;

struct DeploymentSpec {
  std::string name;
  std::string repository;
  std::string branch;
  bool enabled = true;
  bool tags = false;
  bool deletions = false;
  bool wait_for_checks = false;  // "wait_for_checks": "all"
};

/// A push payload's fields: PushSpec().on("refs/heads/staging").in("o/r").at(sha(1)).
struct PushSpec {
  std::string repository = "ducompsoc/durhack";
  std::string ref = "refs/heads/main";
  std::string after;  // empty: a fresh sha
  bool deleted = false;

  PushSpec& on(std::string r) {
    ref = std::move(r);
    return *this;
  }
  PushSpec& in(std::string r) {
    repository = std::move(r);
    return *this;
  }
  PushSpec& at(std::string s) {
    after = std::move(s);
    return *this;
  }
  PushSpec& deleting() {
    deleted = true;
    return *this;
  }
};

class RouterEnv {
 public:
  /// `database_url`: empty for a fresh migrated database in the fixture cluster; otherwise the
  /// caller's (already migrated, or deliberately not).
  explicit RouterEnv(std::vector<DeploymentSpec> deployments, std::uint32_t settle_ms = 300,
                     std::string database_url = "");
  ~RouterEnv();

  const std::string& url() const { return url_; }
  const queue_layout::Layout& layout() const { return layout_; }
  std::filesystem::path inbox() const { return layout_.inbox(); }
  std::filesystem::path scratch() const { return temp_ / "scratch"; }
  std::filesystem::path log_file() const { return temp_ / "router.log"; }
  /// Everything the router processes (all runs) wrote to stderr.
  std::string log() const;
  /// A ledger connection for checks (not shared with the router).
  ledger::Ledger& ledger();

  /// Starts bin/router --config ... (the previous child must be gone).
  void start();
  /// Sends `signal` (SIGTERM or SIGINT: PM2 stops apps with SIGINT), then waits for the exit;
  /// returns the exit status.
  int stop(int signal = SIGTERM, std::chrono::milliseconds timeout = 20s);
  /// kill -9.
  void kill9();
  bool running();

  /// Publishes `text` into inbox/ under a fresh canonical name (the receiver's protocol);
  /// returns the name.
  std::string publish(const std::string& text, const std::string& uniquifier);
  /// A fresh canonical name (in arrival order) without publishing anything.
  std::string next_name(const std::string& uniquifier);

  /// Canonical entries in `dir` (sorted).
  static std::vector<std::string> entries(const std::filesystem::path& dir);
  /// Every visible name in `dir` (sorted), sidecars included.
  static std::vector<std::string> files(const std::filesystem::path& dir);

  /// Waits until inbox/ holds no entry and no stray; false (after `timeout`) otherwise.
  bool wait_inbox_empty(std::chrono::milliseconds timeout = 20s);
  /// Waits until the router logged `count` lines containing `needle`.
  bool wait_log(const std::string& needle, int count = 1, std::chrono::milliseconds timeout = 20s);
  int count_log(const std::string& needle) const;

  /// Decisions recorded for delivery `id`, one per inbox entry, oldest first.
  std::vector<ledger::DeliveryRecord> receipts(const std::string& id);

 private:
  test::TempDir temp_;
  std::unique_ptr<test::Database> database_;
  std::string url_;
  queue_layout::Layout layout_;
  queue_layout::NameClock clock_;
  std::optional<test::Child> child_;
  std::unique_ptr<ledger::Ledger> ledger_;
};

/// A 40-hex sha unique to `n`.
std::string sha(unsigned n);
/// Entry text: a push (`id` empty: no id, as in a hand-written replay).
std::string push_entry(const std::string& id, const PushSpec& push,
                       const std::string& hook_id = "42");
/// Entry text: any event with payload `payload_json`.
std::string event_entry(const std::string& id, const std::string& event,
                        const std::string& payload_json = "{}", const std::string& hook_id = "42");

}  // namespace router_test
