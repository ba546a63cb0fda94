// The deployer integration harness: one deployment "app" of repository example/app, deployed
// from a real bare origin into a real clone, by the REAL deployer binary, against a fresh
// PostgreSQL database of the ctest fixture (migrated), in a private temp folder.
//
//   Harness h;                                   // origin with no commits yet, clone not made
//   auto a = h.origin.commit({{"README.md", "a\n"}});
//   h.clone();                                   // the deployment path, a clone of origin
//   h.steps = nlohmann::json::array({...});      // the deployment's steps (default: none)
//   auto entry = h.webhook_push(a);              // ledger record_routing + published into queue/
//   auto deployer = h.start();
//   REQUIRE(h.wait_in("done", entry));
//
// Entries are written as the router would: the ledger row first (record_routing), then the file,
// published atomically (queue-layout publish), so the deployer never sees half an entry. The
// deployer's stderr goes to deployer.log; when a test fails with an exception (REQUIRE), the
// harness prints that log so the failure can be understood from ctest's output (always, when
// DEPLOY_TEST_SHOW_LOG=1).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/ledger/ledger.hpp"
#include "queue-layout/name.hpp"
#include "tests/support/child.hpp"
#include "tests/support/git.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace test::deployer {

class Harness {
 public:
  /// `server_url`: the cluster to create the test's database in (default: the ctest fixture).
  explicit Harness(const std::string& server_url = fixture_url());
  ~Harness();

  TempDir tmp;
  Database database;
  GitOrigin origin;
  /// The deployment's steps ("steps" of the configuration), and other deployment keys.
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json deployment_extra = nlohmann::json::object();
  /// Top-level configuration keys merged over the defaults (e.g. "github").
  nlohmann::json config_extra = nlohmann::json::object();
  /// Extra environment of the deployer process.
  std::map<std::string, std::string> env;

  const std::filesystem::path& app() const { return app_; }
  std::filesystem::path dir(const std::string& folder) const;  // "queue", "done", "logs", ...
  std::filesystem::path out() const { return tmp / "out"; }    // for steps to write into
  std::filesystem::path config_file() const { return tmp / "deployer.json"; }
  std::filesystem::path log_file() const { return tmp / "deployer.log"; }
  ledger::Ledger& ledger() { return ledger_; }

  /// Clones origin into the deployment path.
  void clone() { origin.clone_to(app_); }

  /// Writes the configuration file (called by start()).
  void write_config();

  /// A push as the router queues it: ledger record_routing (queued, webhook), then the entry.
  std::string webhook_push(const std::string& sha, const std::string& ref = "refs/heads/main",
                           const std::string& delivery = "");
  /// An operator's replay (common::write_replay_entry), no ledger row.
  std::string operator_replay(const std::string& sha, const std::string& ref = "refs/heads/main");
  /// Publishes `text` under `name` in the queue as is.
  void drop(const std::string& name, const std::string& text);
  /// A fresh entry name.
  std::string next_name(const std::string& uniquifier);

  /// Starts the deployer (writing the configuration first).
  Child start(const std::vector<std::string>& extra_args = {});
  /// Starts the REAL router on the same configuration (written first); output in router.log.
  Child start_router();
  /// A push as the receiver writes it: published into inbox/, for the router to route.
  std::string inbox_push(const std::string& sha, const std::string& ref = "refs/heads/main");
  /// Waits until deployer.log contains `text`.
  bool wait_log(const std::string& text,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  /// Waits until `entry` is in `folder` ("done", "failed", "active") and no longer in active/
  /// (unless folder is "active").
  bool wait_in(const std::string& folder, const std::string& entry,
               std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  bool in(const std::string& folder, const std::string& name) const;

  std::string deployer_log() const;
  /// The lines of a file written by steps in out(), or empty when missing.
  std::vector<std::string> out_lines(const std::string& name) const;
  /// The queue item's state, "none" when the ledger has none.
  std::string state_of(const std::string& entry);

 private:
  std::filesystem::path app_;
  ledger::Ledger ledger_;
  queue_layout::NameClock clock_;
};

/// A JSON step running /bin/sh -c `script` (as an argv, not a "shell": true step).
nlohmann::json sh_step(const std::string& name, const std::string& script,
                       nlohmann::json extra = nlohmann::json::object());

/// Dead, or a zombie left for init to reap.
bool process_gone(int pid);

}  // namespace test::deployer
