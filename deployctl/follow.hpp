// follow.hpp: following one entry through the state directory until its deploy is over, for
// `deployctl send-test-push` (and anyone who wants to wait for a deploy).
//
// The entry keeps its name in every folder, and every move links into the next folder before it
// unlinks from the previous one, so looking in flow order (inbox, queue, active, done, failed,
// rejected) always finds an entry that is moving forward. Not found anywhere twice in a row after
// it left the inbox means the router decided not to route it (ignored or duplicate). Reads only.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <string>

#include "common/config.hpp"

namespace deployctl {

enum class Stage { inbox, queued, active, done, failed, rejected, not_routed, timed_out };

/// "waiting in inbox/", "queued", ...: words for progress lines.
std::string_view describe(Stage stage);

struct FollowResult {
  Stage stage = Stage::timed_out;
  std::string detail;     ///< the reason of failed/rejected, the ledger's state of a done entry
  bool deployed = false;  ///< done and (per the ledger, when reachable) succeeded
};

/// Polls every 100 ms until the entry reaches done/, failed/ or rejected/, is not routed, or
/// `timeout` passes. `progress` is called once per new stage.
FollowResult follow_entry(const common::Config& config, const common::Deployment& deployment,
                          const std::string& entry, std::chrono::seconds timeout,
                          const std::function<void(Stage)>& progress);

/// Says on `out` how a followed entry ended: returns 0 when it was deployed or decided (done/);
/// throws Failure for failed/, rejected/, not routed or a timeout, naming what to look at next.
int report_outcome(const FollowResult& result, const std::string& deployment,
                   const std::string& entry, unsigned timeout_s, std::ostream& out);

}  // namespace deployctl
