// failure_report.hpp: failed/<deployment>/<entry>.error.json, why an entry failed.
//
//   {"entry": "...json", "deployment": "durhack", "sha": "...", "ref": "refs/heads/main",
//    "stage": "step build", "step": "build", "exit_code": 1, "reason": "exited with status 1",
//    "output_tail": ["last", "~20", "lines"], "log": "/var/.../logs/durhack/<entry>.log",
//    "failed_at": "2026-11-23T04:05:06.123456789Z"}
//
// "step" is present when a step failed; "exit_code" when a program exited by itself; "sha" and
// "ref" when the entry could be read. The file is published (queue-layout publish: durable,
// never half-written) BEFORE the entry moves to failed/, so an entry in failed/ always has its
// reason beside it; a crash in between leaves the entry in active/ to be run again.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace deployer {

struct FailureReport {
  std::string entry;
  std::string deployment;
  std::string sha;
  std::string ref;
  std::string stage;
  std::string step;  // empty unless a step failed
  std::optional<int> exit_code;
  std::string reason;
  std::vector<std::string> output_tail;
  std::filesystem::path log;
};

/// The JSON text (with a trailing newline). Invalid UTF-8 in output lines is replaced.
std::string failure_json(const FailureReport& report);

/// Publishes `<entry>.error.json` into `failed_dir`. An older report of the same entry (from an
/// earlier failure, before a retry) is replaced by this one: only the newest failure matters,
/// and the older one is still in the run log.
std::error_code publish_failure(const std::filesystem::path& failed_dir,
                                const FailureReport& report);

}  // namespace deployer
