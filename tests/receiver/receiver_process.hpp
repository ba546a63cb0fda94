// The real receiver binary, started for one test: a temp state folder, a config file written by
// the test (allow_root true, an ephemeral loopback port), WEBHOOK_SECRET in its environment, and
// its log captured to a file. The destructor kills it if it is still running.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/http.hpp"
#include "tests/support/temp_dir.hpp"

namespace test {

inline constexpr const char* kReceiverSecret = "It's a Secret to Everybody";

struct ReceiverOptions {
  /// Keys merged into the configuration's "receiver" object (e.g. {"read_timeout_s", 1}).
  nlohmann::json receiver = nlohmann::json::object();
  /// Top-level keys merged into the configuration last (e.g. "deployments", "secrets").
  nlohmann::json top = nlohmann::json::object();
  /// Extra environment; WEBHOOK_SECRET is set to kReceiverSecret unless `with_secret` is false.
  std::map<std::string, std::string> env;
  bool with_secret = true;
  /// Start in the constructor and wait for the port.
  bool start = true;
};

class ReceiverProcess {
 public:
  explicit ReceiverProcess(ReceiverOptions options = {});

  /// Starts the binary and waits until it accepts connections (fails the test if it exits).
  void start();
  /// Sends `signal` and waits up to `timeout`; returns the exit status (nullopt on timeout).
  std::optional<int> stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// SIGKILL, at once.
  void kill();
  Child& child() { return *child_; }

  unsigned short port() const { return port_; }
  const std::filesystem::path& config() const { return config_; }
  std::filesystem::path state() const { return dir_ / "var"; }
  std::filesystem::path inbox() const { return state() / "inbox"; }
  std::string log() const;

  /// Canonical entry names in inbox/, sorted (queue_layout::list_entries).
  std::vector<std::string> entries() const;
  /// Every name in inbox/, dot-files included, sorted.
  std::vector<std::string> all_files() const;
  /// The text of one inbox entry.
  std::string entry_text(const std::string& name) const;

  /// A webhook signed with kReceiverSecret.
  http::Webhook webhook(std::string body = {}) const;
  /// One request on a fresh connection.
  http::Response send(const std::string& raw) const;

 private:
  ReceiverOptions options_;
  TempDir dir_{"receiver-test"};
  std::filesystem::path config_;
  unsigned short port_ = 0;
  std::optional<Child> child_;
};

}  // namespace test
