// The demo app (demo/app/: a Node.js HTTP server, PM2 cluster mode with two workers, wait_ready,
// a graceful SIGINT, /up reporting its commit) deployed in release mode by the REAL deployer,
// from a real git origin, into a real PM2 daemon of its own (a private PM2_HOME, started here
// before any deploy and killed by the destructor), with a real PostgreSQL ledger; and the load
// client (demo/load-client.js) that counts every failed request while it deploys.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/pm2.hpp"
#include "tests/support/child.hpp"
#include "tests/support/git.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace e2e {

/// What the load client counted (its summary line).
struct LoadSummary {
  long requests = 0;
  long ok = 0;
  long failed = 0;                       ///< refused + reset + timeout + non-2xx + other
  std::map<std::string, long> versions;  ///< answers per version served
  std::string text;                      ///< the summary line as printed
};

/// node demo/load-client.js against http://127.0.0.1:port/up, fresh connection per request.
class Load {
 public:
  Load(const std::filesystem::path& dir, unsigned short port, int rate = 200);
  /// SIGINT, then its summary. Throws when it does not print one within 20 s.
  LoadSummary stop();
  /// The failures recorded so far (the events file's error lines).
  std::string failures() const;

 private:
  std::filesystem::path output_;
  std::filesystem::path events_;
  test::Child child_;
};

/// How a variant of the demo app's source breaks.
enum class Breakage {
  none,
  build_fails,       ///< a syntax error: the build step's `node --check` fails
  crashes_at_start,  ///< throws before it listens: never ready, never healthy
  unhealthy,         ///< starts and answers, but /up says 503
};

class ReleaseRig {
 public:
  struct Options {
    bool preflight = true;
    int health_timeout_s = 20;
  };
  explicit ReleaseRig(Options options);
  ~ReleaseRig();
  ReleaseRig(const ReleaseRig&) = delete;
  ReleaseRig& operator=(const ReleaseRig&) = delete;

  /// Commits the demo app's files (broken as asked) plus a line that makes every commit new;
  /// returns the sha.
  std::string commit(const std::string& message, Breakage breakage = Breakage::none);
  /// `deployctl enqueue app --sha SHA`, then waits (180 s at most) until the entry is in done/
  /// ("done") or failed/ ("failed").
  std::string deploy(const std::string& sha);
  /// `deployctl --config <the rig's> ARGS...` (rollback, releases, status), 180 s at most.
  test::RunResult deployctl(const std::vector<std::string>& args) const;
  /// The version /up answers now; nullopt when nothing answers 200.
  std::optional<std::string> served() const;
  /// path/current/REVISION; empty when there is none.
  std::string live() const;

  unsigned short app_port() const { return app_port_; }
  const std::filesystem::path& root() const { return root_.path(); }
  std::filesystem::path site() const { return root_ / "site"; }
  /// Everything a failing test wants to see: the deployer's output, the run logs, PM2's logs.
  std::string logs() const;

 private:
  test::Database db_;
  test::TempDir root_;
  test::GitOrigin origin_;
  unsigned short app_port_;
  std::filesystem::path config_;
  Pm2 app_pm2_;
  std::optional<test::Child> deployer_;
  int commits_ = 0;
};

}  // namespace e2e
