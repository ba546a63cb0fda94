// pipeline.hpp: the whole pipeline as real processes for the reliability tests, without PM2:
// receiver, router and the deployers of two deployments (alpha follows main, beta follows
// staging of one local git origin), each a test::Child that the test kills with SIGKILL and
// restarts itself. Every deploy runs two steps: "work" (a sleep, a window for kills) and
// "record", which appends "<delivery> <entry> <sha>" to <root>/<deployment>.record: the effect
// a deploy leaves outside the pipeline, which the checks read instead of taking the ledger's word.
//
// After a run, verify() reads the ledger, the record files and the state folders and counts, for
// every delivery the receiver acknowledged, the final state it reached in its deployment:
// deployed (succeeded, and its record line with its commit is there), superseded or stale (and a
// commit at least as new was deployed, per the record file); lost (no final state), unaccounted
// (a final state the record file does not back) and duplicated (more than one queue item or more
// than one successful run) must be zero. Nothing here hides a failure: a wait that times out
// throws with every process's log.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child.hpp"
#include "tests/support/git.hpp"
#include "tests/support/http.hpp"
#include "tests/support/temp_dir.hpp"

namespace reliability {

inline const std::vector<std::string> kDeployments = {"alpha", "beta"};
inline constexpr const char* kSecret = "reliability-webhook-secret-5f2c";
inline constexpr const char* kToken = "ghp_reliabilityTokenNeverLogged0123456789";

struct Acked {
  std::string deployment;
  std::string delivery;
  std::string sha;
};

struct Figures {
  std::size_t acked = 0, deployed = 0, superseded = 0, stale = 0, lost = 0, duplicated = 0;
  /// Final in the ledger but not backed by the record file (see the file comment).
  std::size_t unaccounted = 0;
  /// Pushes that never got a 2xx (Pipeline::unacknowledged), and how many of them reached the
  /// ledger anyway (the receiver wrote the entry, the answer was lost); those must be final too.
  std::size_t unacked = 0, unacked_received = 0;
  std::size_t runs_succeeded = 0, runs_interrupted = 0, reruns_after_kill = 0;
  std::size_t partial_entries = 0, folder_mismatches = 0, failed = 0, rejected = 0;
  std::vector<std::string> problems;  ///< one line per violated invariant (first 20)
};

class Pipeline {
 public:
  /// Creates the origin (`commits` commits per branch), the clones, the configuration, and
  /// starts every program against the ledger at `database_url` (already migrated).
  ///
  /// `state_tmpfs` (the disk-full tests): when not empty, a tmpfs is mounted over the state
  /// folder root/var with these mount options (e.g. "size=2m,nr_inodes=512,mode=0700") BEFORE
  /// any program starts, so every folder of the pipeline lives on one small filesystem the test
  /// can fill, while the ledger, the git clones, the record files and the programs' own logs stay
  /// on the real disk. When mount(2) fails it throws (the caller first skips with
  /// test::require_tmpfs where mounting cannot work). The destructor kills the programs first,
  /// then unmounts lazily (umount2 MNT_DETACH: a dying child may still hold a folder open).
  /// `work_seconds`: how long the "work" step sleeps (the chaos test lengthens it so that kills
  /// can be aimed inside it).
  Pipeline(std::string database_url, int commits, const std::string& state_tmpfs = "",
           const std::string& work_seconds = "0.05");
  ~Pipeline();

  const test::TempDir& root() const { return root_; }
  std::filesystem::path state() const { return root_ / "var"; }
  unsigned short port() const { return port_; }
  const std::vector<std::string>& commits(const std::string& deployment) const {
    return commits_.at(deployment);
  }

  /// Program names: "receiver", "router", "deployer-alpha", "deployer-beta".
  std::vector<std::string> programs() const;
  /// Starts (or restarts) one program; for the receiver, waits for its port.
  void start(const std::string& program);
  /// SIGKILL to one program, reaped at once.
  void kill(const std::string& program);
  /// True while every program is running.
  bool all_running();

  /// Sends one signed push of `sha` for `deployment`, retrying the same delivery id (as GitHub's
  /// redelivery does) on connection errors and 503 until `deadline`; returns it when a 2xx came,
  /// else remembers it in unacknowledged().
  std::optional<Acked> push(const std::string& deployment, const std::string& sha,
                            std::chrono::steady_clock::time_point deadline);

  /// Waits until inbox/, every queue and every active/ folder are empty and the ledger has no
  /// queued or running item; false on timeout.
  bool drain(std::chrono::milliseconds timeout);

  /// The pushes that got no 2xx before their deadline.
  const std::vector<Acked>& unacknowledged() const { return unacknowledged_; }

  /// Checks every invariant (see the file comment) against the acknowledged deliveries and the
  /// unacknowledged() ones.
  Figures verify(const std::vector<Acked>& acked, const std::string& database_url);

  /// Position of `sha` in commits(deployment) (later is newer); -1 when it is not one of them.
  int commit_index(const std::string& deployment, const std::string& sha) const;
  /// The commit checked out in a deployment's working tree.
  std::string checked_out(const std::string& deployment) const;
  /// The run log of `entry` in a deployment (empty when there is none yet).
  std::string run_log(const std::string& deployment, const std::string& entry) const;

  /// Every program's log, for failure messages.
  std::string logs() const;
  /// Every file under the root that contains `needle` (logs, state, run logs, error files).
  std::vector<std::string> files_containing(const std::string& needle) const;
  /// Files or folders under the state directory readable or writable by group or others.
  std::vector<std::string> open_modes() const;

 private:
  test::TempDir root_{"reliability"};
  std::string database_url_;
  unsigned short port_ = 0;
  std::filesystem::path config_;
  std::map<std::string, std::vector<std::string>> commits_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<test::Child>> children_;
  std::optional<test::http::Connection> connection_;
  std::vector<Acked> unacknowledged_;
  bool state_mounted_ = false;  // a tmpfs is mounted over state(): unmount in the destructor
};

}  // namespace reliability
