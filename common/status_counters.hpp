// status_counters.hpp: the receiver's answers counted by HTTP status, for the dashboard's /metrics.
//
// The receiver never talks to the ledger, so its counters reach the dashboard through a small
// file, <state_dir>/metrics/receiver.json: {"responses": {"202": 17, "401": 2}}. count() is a
// relaxed atomic increment (no lock, no I/O on the request path); a background thread rewrites
// the file once a second when something changed, and once more when the receiver stops. The
// file is replaced whole (a dot-temporary renamed over it, so a reader never sees half of it)
// but not fsynced: after a power cut the counts may go back a little, which Prometheus reads as
// a counter reset, and no event is lost by it. A restarted receiver continues from the file.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace common {

/// <state_dir>/metrics/receiver.json: where the receiver keeps its counts.
std::filesystem::path receiver_counters_file(const std::filesystem::path& state_dir);

class StatusCounters {
 public:
  /// Starts the writer thread for `file` (its folder is created), continuing from its counts.
  explicit StatusCounters(std::filesystem::path file);
  ~StatusCounters();  ///< writes a last time, stops the thread
  StatusCounters(const StatusCounters&) = delete;
  StatusCounters& operator=(const StatusCounters&) = delete;

  /// Counts one answer with `status` (100-599; anything else is ignored).
  void count(unsigned status) noexcept;

  /// The counts of `file` as the dashboard reads them (status -> answers); empty when the file
  /// is missing or unreadable.
  static std::map<unsigned, std::uint64_t> read(const std::filesystem::path& file);

 private:
  void write();
  void failed(const std::string& what);
  void loop();

  std::filesystem::path file_;
  std::array<std::atomic<std::uint64_t>, 600> counts_{};
  std::uint64_t written_total_ = 0;
  bool failing_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace common
