// follow.cpp: see follow.hpp.
#include "deployctl/follow.hpp"

#include <cstdlib>
#include <ostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/hosts.hpp"
#include "common/ledger/ledger.hpp"
#include "common/secrets.hpp"
#include "deployctl/commands.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"

namespace deployctl {
namespace {

Stage where(const queue_layout::Layout& layout, const std::string& deployment,
            const std::string& entry) {
  // Flow order: an entry moving forward between two looks is seen in the later folder.
  if (queue_layout::exists(layout.inbox(), entry)) return Stage::inbox;
  if (queue_layout::exists(layout.queue(deployment), entry)) return Stage::queued;
  if (queue_layout::exists(layout.active(deployment), entry)) return Stage::active;
  if (queue_layout::exists(layout.done(deployment), entry)) return Stage::done;
  if (queue_layout::exists(layout.failed(deployment), entry)) return Stage::failed;
  if (queue_layout::exists(layout.rejected(), entry)) return Stage::rejected;
  return Stage::not_routed;
}

std::string read_small(const std::filesystem::path& dir, const std::string& name) {
  std::string text;
  if (queue_layout::read_entry(dir, name, 1 << 20, text)) return "";
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// failed/<entry>.error.json's "reason" (and "stage"), or the whole text if it is not JSON.
std::string failure_reason(const std::filesystem::path& dir, const std::string& entry) {
  const std::string text = read_small(dir, queue_layout::error_name(entry));
  const auto report = nlohmann::json::parse(text, nullptr, false);
  if (!report.is_object()) return text;
  std::string out = report.value("stage", std::string());
  const std::string reason = report.value("reason", std::string());
  if (!reason.empty()) out += (out.empty() ? "" : ": ") + reason;
  return out;
}

// What the ledger says about a finished entry (`deployment`: this host's ledger name) ("succeeded",
// "stale: commit ... is the deployed commit"); empty when the ledger cannot be asked.
std::string ledger_state(const common::Config& config, const std::string& deployment,
                         const std::string& entry, bool& succeeded) {
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);
  try {
    ledger::Ledger ledger(common::database_url(config));
    const auto item = ledger.queue_item(deployment, entry);
    if (!item) return "";
    succeeded = item->state == ledger::QueueState::succeeded;
    std::string out(ledger::to_string(item->state));
    if (!item->reason.empty()) out += ": " + item->reason;
    return out;
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

std::string_view describe(Stage stage) {
  switch (stage) {
    case Stage::inbox:
      return "in inbox/, waiting for the router";
    case Stage::queued:
      return "routed into the queue, waiting for the deployer";
    case Stage::active:
      return "deploying";
    case Stage::done:
      return "finished";
    case Stage::failed:
      return "failed";
    case Stage::rejected:
      return "rejected by the router";
    case Stage::not_routed:
      return "not routed by the router (ignored or duplicate)";
    case Stage::timed_out:
      return "still not finished";
  }
  return "unknown";
}

FollowResult follow_entry(const common::Config& config, const common::Deployment& deployment,
                          const std::string& entry, std::chrono::seconds timeout,
                          const std::function<void(Stage)>& progress) {
  const queue_layout::Layout layout(config.state_dir);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<Stage> last;
  int misses = 0;
  FollowResult result;
  while (std::chrono::steady_clock::now() < deadline) {
    const Stage stage = where(layout, deployment.name, entry);
    if (stage == Stage::not_routed && ++misses < 3) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (stage != Stage::not_routed) misses = 0;
    if (stage != last) {
      last = stage;
      progress(stage);
    }
    switch (stage) {
      case Stage::done:
        result.stage = stage;
        result.deployed = true;
        result.detail = ledger_state(config, common::ledger_name(deployment, config.host), entry,
                                     result.deployed);
        return result;
      case Stage::failed:
        result.stage = stage;
        result.detail = failure_reason(layout.failed(deployment.name), entry);
        return result;
      case Stage::rejected:
        result.stage = stage;
        result.detail = read_small(layout.rejected(), queue_layout::reason_name(entry));
        return result;
      case Stage::not_routed:
        result.stage = stage;
        return result;
      default:
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  result.stage = Stage::timed_out;
  result.detail = last ? std::string(describe(*last)) : "";
  return result;
}

int report_outcome(const FollowResult& result, const std::string& deployment,
                   const std::string& entry, unsigned timeout_s, std::ostream& out) {
  const std::string logs = "deployctl logs " + deployment + " " + entry;
  switch (result.stage) {
    case Stage::done:
      if (result.deployed) {
        out << "deployed" << (result.detail.empty() ? "" : " (" + result.detail + ")")
            << "; the run's log: " << logs << "\n";
      } else {
        out << "not deployed: " << result.detail << "; " << logs << "\n";
      }
      return 0;
    case Stage::failed:
      throw Failure("the deploy failed: " + result.detail + " (" + logs + ")");
    case Stage::rejected:
      throw Failure("the router rejected the entry: " + result.detail);
    case Stage::not_routed:
      throw Failure("the router did not route " + entry + " to " + deployment +
                    " (is the deployment enabled? `pm2 logs router` says why)");
    default:
      throw Failure("not finished after " + std::to_string(timeout_s) + "s: " + result.detail +
                    " (is deployer-" + deployment + " running? `pm2 ls` shows it)");
  }
}

}  // namespace deployctl
