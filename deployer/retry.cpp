// retry.cpp: see retry.hpp.
#include "deployer/retry.hpp"

#include <algorithm>

#include "queue-layout/name.hpp"
#include "queue-layout/scan.hpp"

namespace deployer {

bool retryable(const common::RetrySettings& retry, const DeployFailure& failure) {
  if (failure.transient) return true;
  // Only a program the deployment runs can ask for another try with its exit code: git's own
  // exit codes (128 for everything) say nothing about whether trying again helps.
  const bool step = failure.stage.starts_with("step ") || failure.stage.starts_with("activate ");
  return step && failure.exit_code &&
         std::find(retry.exit_codes.begin(), retry.exit_codes.end(), *failure.exit_code) !=
             retry.exit_codes.end();
}

std::chrono::seconds retry_delay(const common::RetrySettings& retry, int next) {
  // next >= 2; at most 10 attempts, so the shift stays small (3600 s * 2^9 at most).
  const int doublings = std::clamp(next - 2, 0, 16);
  return std::chrono::seconds(static_cast<std::int64_t>(retry.backoff_s) << doublings);
}

std::filesystem::path attempt_log(const std::filesystem::path& logs, const std::string& entry,
                                  int attempt) {
  return logs / (entry + ".attempt-" + std::to_string(attempt) + ".log");
}

std::string log_owner(const std::string& name) {
  std::string entry;
  if (name.ends_with(".changed")) {
    entry = name.substr(0, name.size() - 8);
  } else if (name.ends_with(".log")) {
    entry = name.substr(0, name.size() - 4);
    // "<entry>.attempt-<n>": an earlier attempt's log.
    const auto dot = entry.rfind(".attempt-");
    if (dot != std::string::npos && dot + 9 < entry.size() &&
        std::all_of(entry.begin() + static_cast<std::ptrdiff_t>(dot + 9), entry.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      entry.resize(dot);
    }
  }
  return queue_layout::is_entry_name(entry) ? entry : std::string();
}

std::optional<std::string> newer_entry(const Context& context) {
  queue_layout::Listing listing;
  if (queue_layout::list_entries(context.queue, listing) || listing.entries.empty()) {
    return std::nullopt;
  }
  return listing.entries.front();
}

boost::asio::awaitable<std::optional<std::string>> wait_for_attempt(
    Context& context, std::chrono::system_clock::time_point due) {
  using namespace std::chrono;
  // Bounded: every pass sleeps at most a second and ends once `due` has passed.
  for (;;) {
    if (context.stop.requested()) throw Stopped();
    if (auto newer = newer_entry(context)) co_return newer;
    const auto left = due - system_clock::now();
    if (left <= system_clock::duration::zero()) co_return std::nullopt;
    co_await pause(context.stop, std::min(duration_cast<milliseconds>(left) + milliseconds(1),
                                          milliseconds(1000)));
  }
}

}  // namespace deployer
