// run_log.hpp: the log file of one deploy run, logs/<deployment>/<entry>.log.
//
// Every line starts with a UTC timestamp (millisecond precision). Lines the deployer writes about
// the run start with "===" (run start, git, step headers, durations and exit codes, the outcome);
// lines of a step's or git's output start with "|". A run that is started again after a crash or
// a restart appends to the same file, under a new "=== run started" header, so the history of an
// entry is one file. The last lines of output are kept in memory for the failure report.
//
// Contract: lines are written with write(2) as they come (a crash loses at most a partial output
// line still being assembled); finish() fsyncs the file so the evidence of a run is on disk
// before its entry moves to done/ or failed/. Write errors (a full disk) are counted and reported
// once, never thrown: the deploy itself must not fail because its log could not be written.
#pragma once

#include <cstddef>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>

namespace deployer {

/// True when `file` holds a run that never wrote its last line (the outcome, or why the entry was
/// not deployed): the deployer was stopped or killed during it. False for a missing or empty
/// file and for one whose last run ended.
bool run_left_unfinished(const std::filesystem::path& file);

class RunLog {
 public:
  /// Opens (creates or appends to) `file`, mode 0640. Throws std::system_error naming the file
  /// when it cannot be opened.
  explicit RunLog(std::filesystem::path file, std::size_t tail_lines = 20);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// One "=== text" line.
  void note(std::string_view text);
  /// Output bytes from a child: split into lines, each written as "| line". A partial last line
  /// waits for the rest (or for end_output()).
  void output(std::string_view chunk);
  /// Writes a pending partial output line.
  void end_output();

  /// The last `tail_lines` output lines since clear_tail() (without timestamps).
  const std::deque<std::string>& tail() const { return tail_; }
  void clear_tail() { tail_.clear(); }

  /// end_output() and fsync. Returns false (and logs once) if anything could not be written.
  bool finish();

 private:
  void write_line(std::string_view marker, std::string_view text);

  std::filesystem::path path_;
  int fd_ = -1;
  std::size_t tail_lines_;
  std::string partial_;
  std::deque<std::string> tail_;
  bool write_failed_ = false;
};

}  // namespace deployer
