// reload.hpp: SIGHUP re-reads the configuration of a long-running program.
//
// On SIGHUP a program calls ConfigReload::load(current). The file is read and validated again
// (the same load and checks as at start-up), then the program's own check says whether it can
// take the change without a restart (state_dir, say, cannot change under a running pipeline).
// A configuration that fails either is refused: one error line in the log, and the program goes
// on exactly as before. An accepted one waits in pending() until the program has finished what
// it is doing (the router its current entry, a deployer its running deploy) and asks for it with
// take(); serve_reloading() does that turn for programs built as "serve until told to stop".
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/config.hpp"

namespace common {

class ConfigReload {
 public:
  /// Loads and validates the configuration again; throws with the reason when it is unusable.
  using Loader = std::function<Config()>;
  /// Why `next` cannot replace `current` in this program, or "" when it can.
  using Check = std::function<std::string(const Config& current, const Config& next)>;

  explicit ConfigReload(Loader load, Check check = {});

  /// Reads the configuration again. True when it was accepted (it is then pending); false when
  /// it was refused, after logging why.
  bool load(const Config& current);

  bool pending() const { return next_.has_value(); }
  /// The accepted configuration; pending() is false afterwards.
  Config take();
  /// Drops a pending configuration: the program is stopping (SIGTERM after SIGHUP).
  void discard() { next_.reset(); }

 private:
  Loader load_;
  Check check_;
  std::optional<Config> next_;
};

/// A Check refusing what no long-running program can change in place: state_dir (every folder
/// and lock lives there). Programs add their own refusals after it.
std::string refuse_state_dir_change(const Config& current, const Config& next);

/// Calls serve(config) until it returns with no configuration pending, each time with the latest
/// accepted one; returns the last exit status. `serve` is expected to return early (once its
/// current work is done) when reload.load() accepted a configuration. SIGHUP stays caught from
/// the first call to the end, also between two calls (asio restores the default action, which
/// ends the process, when a serve's own signal_set goes away); one arriving in that gap is lost.
int serve_reloading(Config config, ConfigReload& reload,
                    const std::function<int(const Config&)>& serve);

}  // namespace common
