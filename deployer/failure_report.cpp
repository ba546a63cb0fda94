// failure_report.cpp: see failure_report.hpp.
#include "deployer/failure_report.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/timefmt.hpp"
#include "queue-layout/move.hpp"
#include "queue-layout/publish.hpp"

namespace deployer {

std::string failure_json(const FailureReport& report) {
  nlohmann::json json = {
      {"entry", report.entry},
      {"deployment", report.deployment},
      {"stage", report.stage},
      {"reason", report.reason},
      {"output_tail", report.output_tail},
      {"failed_at", common::utc_timestamp_ns(std::chrono::system_clock::now())},
  };
  if (!report.sha.empty()) json["sha"] = report.sha;
  if (!report.ref.empty()) json["ref"] = report.ref;
  if (!report.step.empty()) json["step"] = report.step;
  if (report.exit_code) json["exit_code"] = *report.exit_code;
  if (!report.log.empty()) json["log"] = report.log.string();
  // replace: step output is arbitrary bytes; the report must still be valid JSON.
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::error_code publish_failure(const std::filesystem::path& failed_dir,
                                const FailureReport& report) {
  const std::string name = report.entry + ".error.json";
  const std::string text = failure_json(report);
  std::error_code ec = queue_layout::publish(failed_dir, name, text);
  if (ec == std::errc::file_exists) {
    // The report of an earlier failure of this entry (it was retried). publish never replaces,
    // so remove the old one durably first; a crash in between leaves the entry in active/, where
    // it runs again and publishes afresh.
    ec = queue_layout::remove_entry(failed_dir, name);
    if (!ec) ec = queue_layout::publish(failed_dir, name, text);
  }
  return ec;
}

}  // namespace deployer
