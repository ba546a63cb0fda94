// handle.cpp: see handle.hpp.
#include "router/handle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/entry.hpp"
#include "common/github_deployment.hpp"
#include "common/hosts.hpp"
#include "common/log.hpp"
#include "common/secrets.hpp"
#include "common/validate.hpp"
#include "queue-layout/quarantine.hpp"
#include "queue-layout/read.hpp"
#include "queue-layout/scan.hpp"
#include "router/match.hpp"
#include "router/timestamp.hpp"

namespace router {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

// Reasons can quote bytes of a hostile file (a JSON parser's "last read: ..."). PostgreSQL
// refuses invalid UTF-8 in text, which would make one bad file block the inbox, so anything
// outside printable ASCII is written as \xNN.
std::string printable(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

// Sets the file's modification time to now, creating it (and its folder, 0700) when missing:
// a deployer waiting for checks notices the change (deployer/wait_checks.hpp). Not fsynced: it
// is a wake-up, not a record, and the deployer polls GitHub anyway.
std::error_code touch_checks_nudge(const std::filesystem::path& file) {
  if (const auto ec = queue_layout::ensure_dir(file.parent_path())) return ec;
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return {errno, std::generic_category()};
  const int rc = ::futimens(fd, nullptr);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) return {saved, std::generic_category()};
  return {};
}

// payload[key] (or payload[key][inner]) when it is a string, else "": webhook payloads are not
// trusted to have the documented types.
std::string string_at(const nlohmann::json& payload, const std::string& key,
                      const std::string& inner = "") {
  const auto it = payload.find(key);
  if (it == payload.end()) return "";
  const nlohmann::json* value = &*it;
  if (!inner.empty()) {
    if (!value->is_object()) return "";
    const auto in = value->find(inner);
    if (in == value->end()) return "";
    value = &*in;
  }
  return value->is_string() ? value->get<std::string>() : "";
}

std::string delivery_field(const common::EntryMeta& meta) {
  return meta.id.value_or("-");
}

std::optional<ledger::DeliveryKey> key_of(const common::EntryMeta& meta) {
  if (!meta.id) return std::nullopt;
  return ledger::DeliveryKey{meta.hook_id.value_or(""), *meta.id};
}

std::optional<ledger::DeliveryRecord> decision_row(const std::string& name,
                                                   const common::EntryMeta& meta,
                                                   ledger::Decision decision,
                                                   const std::string& reason) {
  const auto key = key_of(meta);
  if (!key) return std::nullopt;  // the ledger keys decisions by delivery id; the log has it
  ledger::DeliveryRecord row;
  row.key = *key;
  row.entry_name = name;
  row.event = meta.event;
  row.decision = decision;
  row.reason = printable(reason);
  if (meta.received_at) row.received_at = parse_utc_timestamp(*meta.received_at);
  return row;
}

// Whether to queue GitHub deployments; a token file that cannot be read turns them off (logged)
// rather than stopping the routing.
bool github_deployments(const common::Config& config) {
  try {
    return common::github_deployments_on(config);
  } catch (const common::SecretError& e) {
    common::log::error("GitHub deployments are not queued: cannot read the token",
                       {{"error", e.what()}});
    return false;
  }
}

// The router's outbox file for entry `name`: its own timestamp and uniquifier, so handling the
// entry again after a crash publishes the same name (EEXIST) instead of a second "queued".
std::string github_outbox_name(const std::string& name) {
  const auto dash = name.find('-');
  std::string uniquifier = name.substr(dash + 1, name.size() - dash - 1 - 5);  // minus ".json"
  return name.substr(0, dash) + "-q-" + uniquifier.substr(0, 98) + ".json";
}

}  // namespace

Handler::Handler(const common::Config& config, const queue_layout::Layout& layout,
                 ledger::Ledger& ledger, ledger::Fanout* fanout)
    : config_(config),
      layout_(layout),
      ledger_(ledger),
      fanout_(fanout),
      inbox_(layout.inbox()),
      max_bytes_(common::max_entry_bytes(config.receiver.body_limit_bytes)),
      settle_(config.router.settle()),
      commit_(inbox_),
      github_deployments_(github_deployments(config)) {}

Handled Handler::handle(const std::string& name) {
  Inspection inspection = inspect(inbox_, name, max_bytes_, settle_);
  if (const auto* waiting = std::get_if<Waiting>(&inspection)) {
    common::log::debug("entry not usable yet, waiting for it to settle",
                       {{"entry", name}, {"problem", waiting->problem}});
    return Handled{waiting->until};
  }
  if (std::holds_alternative<Gone>(inspection)) return {};
  if (const auto* bad = std::get_if<Bad>(&inspection)) {
    reject(name, *bad);
    return {};
  }
  const auto& good = std::get<Good>(inspection);
  const auto& event = good.entry.meta.event;
  if (event == "push") {
    push(name, good.entry, *good.push);
  } else if (event == "ping") {
    ping(name, good.entry);
  } else if (is_check_event(event)) {
    checks(name, good.entry);
  } else {
    ignore(name, good.entry, "event \"" + event + "\" is not routed");
  }
  return {};
}

std::optional<std::chrono::steady_clock::time_point> Handler::handle_stray(
    const std::string& name) {
  std::chrono::system_clock::time_point mtime;
  const auto ec = queue_layout::entry_mtime(inbox_, name, mtime);
  if (ec == std::errc::no_such_file_or_directory) {
    settle_.forget(name);
    return std::nullopt;
  }
  const auto now = std::chrono::system_clock::now();
  const auto steady_now = std::chrono::steady_clock::now();
  // A stray may be a file still being copied under a temporary-looking name: it gets the
  // same settle time as an unparsable entry before it is moved aside.
  const auto settled = settle_.settled_at(name, ec ? now : mtime, now, steady_now);
  if (settled > steady_now) return settled;
  settle_.forget(name);
  const std::string reason =
      "not an entry name: the router takes only <20-digit timestamp>-<id>.json files";
  if (quarantine(name, reason)) {
    common::log::warn("stray file rejected", {{"entry", name}, {"reason", reason}});
  }
  return std::nullopt;
}

void Handler::keep_only(const std::set<std::string>& present) {
  settle_.keep_only(present);
  std::erase_if(stuck_, [&](const std::string& n) { return !present.contains(n); });
}

void Handler::reject(const std::string& name, const Bad& bad) {
  const std::string reason = printable(bad.reason);
  // Ledger first: once the file has left the inbox nothing would bring the record back, while
  // a crash after the record only means the quarantine is redone (the record is an upsert).
  record(name, bad.meta, ledger::Decision::rejected, reason);
  if (!quarantine(name, reason)) return;
  common::log::warn("entry rejected",
                    {{"delivery", delivery_field(bad.meta)}, {"entry", name}, {"reason", reason}});
}

void Handler::ping(const std::string& name, const common::Entry& entry) {
  record_later(name, entry.meta, ledger::Decision::ping, "");
  remove_from_inbox(name);
  common::log::info("ping recorded", {{"delivery", delivery_field(entry.meta)}, {"entry", name}});
}

void Handler::ignore(const std::string& name, const common::Entry& entry,
                     const std::string& reason) {
  record_later(name, entry.meta, ledger::Decision::ignored, reason);
  remove_from_inbox(name);
  common::log::info("entry ignored", {{"delivery", delivery_field(entry.meta)},
                                      {"entry", name},
                                      {"event", entry.meta.event},
                                      {"reason", reason}});
}

void Handler::checks(const std::string& name, const common::Entry& entry) {
  const auto& payload = entry.payload;
  const std::string repository = string_at(payload, "repository", "full_name");
  if (!common::valid_repository(repository)) {
    ignore(name, entry, "event \"" + entry.meta.event + "\" without a valid repository.full_name");
    return;
  }
  const Match match = match_checks(config_, repository);
  if (match.deployments.empty()) {
    ignore(name, entry, match.reason);
    return;
  }
  // The commit, for the record only: the deployer asks GitHub's API itself.
  std::string sha = entry.meta.event == "status" ? string_at(payload, "sha")
                                                 : string_at(payload, entry.meta.event, "head_sha");
  if (!common::valid_sha(sha)) sha = "unknown";
  std::string targets;
  for (const auto& deployment : match.deployments) {
    targets += (targets.empty() ? "" : ",") + deployment;
    // A wake-up only, not an event to keep: a deployer that misses it polls anyway, so a
    // failure is logged and routing goes on.
    if (const auto ec = touch_checks_nudge(layout_.root() / "checks" / deployment)) {
      common::log::warn("cannot wake the deployer waiting for checks",
                        {{"deployment", deployment}, {"entry", name}, {"error", ec.message()}});
    }
  }
  record_later(name, entry.meta, ledger::Decision::routed,
               "checks of " + sha.substr(0, 7) + " to " + targets);
  remove_from_inbox(name);
  common::log::info("check event routed", {{"delivery", delivery_field(entry.meta)},
                                           {"entry", name},
                                           {"event", entry.meta.event},
                                           {"sha", sha},
                                           {"deployments", targets}});
}

void Handler::push(const std::string& name, const common::Entry& entry, const common::Push& push) {
  const Match match = match_push(config_, push);
  if (match.deployments.empty()) {
    ignore(name, entry, match.reason);
    return;
  }
  std::vector<std::string> targets;
  std::vector<std::string> duplicates;  // "deployment (state)"
  if (const auto key = key_of(entry.meta)) {
    // The delivery's queue items in other entries (`name` excepted: after a crash, this entry's
    // own items are its unfinished routing, not an earlier delivery).
    // On several hosts a deployment has one item per host: any of them blocks (ledger_name).
    const auto states = ledger_.delivery_states(*key, name);
    for (const auto& deployment : match.deployments) {
      std::optional<ledger::QueueState> blocking;
      for (const auto& ledger_name : common::ledger_names(config_.deployment(deployment))) {
        const auto it = states.find(ledger_name);
        if (it != states.end() && ledger::blocks_redelivery(it->second)) blocking = it->second;
      }
      if (blocking) {
        duplicates.push_back(deployment + " (" + std::string(ledger::to_string(*blocking)) + ")");
      } else {
        targets.push_back(deployment);
      }
    }
  } else {
    targets = match.deployments;  // no delivery id (a hand-written entry): nothing to compare
  }
  if (targets.empty()) {
    drop_duplicate(name, entry, match.deployments, duplicates);
    return;
  }
  route(name, entry, push, match.deployments, std::move(targets), std::move(duplicates));
}

void Handler::drop_duplicate(const std::string& name, const common::Entry& entry,
                             const std::vector<std::string>& matched,
                             const std::vector<std::string>& duplicates) {
  const std::string reason = "redelivery, already handled for " + join(duplicates);
  record_later(name, entry.meta, ledger::Decision::duplicate, reason);
  remove_from_inbox(name);
  common::log::info("duplicate delivery dropped", {{"delivery", delivery_field(entry.meta)},
                                                   {"entry", name},
                                                   {"deployments", join(matched)},
                                                   {"reason", reason}});
}

// Why this order gives exactly-once routing under kill -9 at any instant:
//  1. record_routing: the queue item ("queued") of every target in one statement, before any
//     link: when the deployer meets the entry in its queue the ledger already knows it as
//     webhook-routed, and a re-run of this entry finds its own items. Idempotent (DO NOTHING
//     on a re-run). With other hosts in a target's "hosts", their fan-out items (the entry's
//     bytes) commit in the same transaction: once the ledger says routed, every host gets it.
//  2. link into queues/<deployment>/ (made durable by flush() before step 4), skipped when the
//     deployer already has the entry: its item is past "queued", or the name is in the
//     deployment's queues/, active/, done/ or failed/ folder. Without the skip, a router killed
//     after linking but before step 4 would, once restarted, queue an entry the deployer had
//     already taken or deployed a second time.
//  3. record the delivery "routed" (an upsert keyed by the entry name): only once the links
//     are made, so while they cannot be (a full disk) the ledger does not call it routed. It is
//     queued in decisions_ and written by flush() with the rest of the batch's decisions.
//  4. remove the entry from the inbox, strictly last: flush() writes the decisions, fsyncs the
//     queue folders, then unlinks and fsyncs the inbox. Until then a crash leaves the entry in the
//     inbox and the restarted router redoes steps 1-4, each of which is harmless to repeat; after
//     it, every step before is durable. So the entry is in each target queue exactly once, never in
//     none.
void Handler::route(const std::string& name, const common::Entry& entry, const common::Push& push,
                    const std::vector<std::string>& matched, std::vector<std::string> targets,
                    std::vector<std::string> duplicates) {
  const auto routed = record_routing(name, entry, push, targets);
  const auto& created = routed.created;
  // Another host's router routed this delivery since push() looked (only with "hosts").
  for (const auto& [ledger_name, state] : routed.blocked) {
    const std::string deployment(common::deployment_of_ledger_name(ledger_name));
    if (std::find(targets.begin(), targets.end(), deployment) == targets.end()) continue;
    std::erase(targets, deployment);
    duplicates.push_back(deployment + " (" + std::string(ledger::to_string(state)) + ")");
  }
  if (targets.empty()) {
    drop_duplicate(name, entry, matched, duplicates);
    return;
  }
  const std::string note = duplicates.empty() ? "" : "; not again to " + join(duplicates);
  for (const auto& deployment : targets) {
    // Fanned out only: the deployment has no deployer on this host.
    const auto& settings = config_.deployment(deployment);
    if (!settings.runs_on(config_.host)) continue;
    const std::string ledger_name = common::ledger_name(settings, config_.host);
    if (std::find(created.begin(), created.end(), ledger_name) == created.end()) {
      // The item existed: an earlier run of this router got this far, or the deployer claimed
      // the entry meanwhile. Past "queued", the deployer has taken it: never queue it again.
      const auto item = ledger_.queue_item(ledger_name, name);
      if (item && item->state != ledger::QueueState::queued) continue;
    }
    if (const auto found = taken_by_deployment(deployment, name)) {
      // Put there by an earlier run (or moved on by the deployer) just before a crash: maybe not
      // durable yet, so that folder is fsynced too before the inbox copy goes.
      if (const auto ec = commit_.sync_later(*found)) {
        throw FsError("cannot open " + found->string(), ec);
      }
      continue;
    }
    // On several hosts, the first of them speaks to GitHub (common::reports_for).
    if (common::reports_for(settings, config_.host)) queue_github_queued(deployment, name, push);
    if (const auto ec = commit_.link(layout_.queue(deployment), name)) {
      throw FsError(
          "cannot link " + (inbox_ / name).string() + " into " + layout_.queue(deployment).string(),
          ec);
    }
  }
  record_later(name, entry.meta, ledger::Decision::routed, "to " + join(targets) + note);
  remove_from_inbox(name);
  common::log::info("entry routed", {{"delivery", delivery_field(entry.meta)},
                                     {"entry", name},
                                     {"deployments", join(targets)},
                                     {"ref", push.ref},
                                     {"sha", push.after}});
}

ledger::Routed Handler::record_routing(const std::string& name, const common::Entry& entry,
                                       const common::Push& push,
                                       const std::vector<std::string>& targets) {
  const auto key = key_of(entry.meta);
  // One queue item per host of each target (common::ledger_name), the routing decision every
  // host's deployer claims and every router's redelivery check reads.
  std::vector<std::string> items;
  std::vector<ledger::FanoutTarget> remote;
  for (const auto& deployment : targets) {
    const auto& settings = config_.deployment(deployment);
    for (auto& ledger_name : common::ledger_names(settings))
      items.push_back(std::move(ledger_name));
    for (auto& host : common::other_hosts(config_, settings)) {
      std::string ledger_name = common::ledger_name(settings, host);
      remote.push_back({deployment, std::move(host), std::move(ledger_name)});
    }
  }
  // Without "hosts" in the configuration: exactly the single-host statement of before (one
  // router decides about every delivery).
  if (fanout_ == nullptr) {
    return ledger::Routed{ledger_.record_routing(items, name, key, push.after, push.ref), {}};
  }
  // The other hosts get the entry's exact bytes, read again from the inbox (it is still there).
  std::string content;
  if (!remote.empty()) {
    if (const auto ec = queue_layout::read_entry(inbox_, name, max_bytes_, content)) {
      throw FsError("cannot read " + (inbox_ / name).string(), ec);
    }
  }
  return fanout_->record_routing(items, name, key, push.after, push.ref, remote, config_.host,
                                 content);
}

// Before the link: a deployer that takes the entry at once queues its own statuses after this
// one. Never holds up the routing: on failure (a full disk) it is logged, and the deployer's first
// status creates the GitHub deployment instead.
void Handler::queue_github_queued(const std::string& deployment, const std::string& name,
                                  const common::Push& push) {
  if (!github_deployments_) return;
  common::DeploymentStatusItem item;
  item.key = name;
  item.state = common::DeploymentState::queued;
  item.description = "Queued " + push.after.substr(0, 7) + " for " + deployment;
  item.create_sha = push.after;
  item.ref = push.ref;
  const auto ec = common::queue_github_status(config_, config_.deployment(deployment), item,
                                              github_outbox_name(name));
  if (ec && ec != std::errc::file_exists) {
    common::log::warn("cannot queue the GitHub deployment of an entry",
                      {{"deployment", deployment}, {"entry", name}, {"error", ec.message()}});
  }
}

void Handler::record(const std::string& name, const common::EntryMeta& meta,
                     ledger::Decision decision, const std::string& reason) {
  if (auto row = decision_row(name, meta, decision, reason)) ledger_.record_delivery(*row);
}

void Handler::record_later(const std::string& name, const common::EntryMeta& meta,
                           ledger::Decision decision, const std::string& reason) {
  if (auto row = decision_row(name, meta, decision, reason)) decisions_.push_back(std::move(*row));
}

void Handler::remove_from_inbox(const std::string& name) {
  commit_.remove_later(name);
}

void Handler::flush() {
  const auto count = commit_.pending();
  if (!decisions_.empty()) {
    // The decisions before the removals: an entry leaves the inbox only once its decision is
    // in the ledger. On failure the whole batch is dropped: its entries are still in the inbox
    // and are handled again, decisions included (a crash would do the same).
    try {
      ledger_.record_deliveries(decisions_);
    } catch (...) {
      decisions_.clear();
      commit_.abandon();
      throw;
    }
    decisions_.clear();
  }
  if (const auto ec = commit_.commit()) {
    throw FsError(
        "cannot commit " + std::to_string(count) + " routed entries out of " + inbox_.string(), ec);
  }
}

std::optional<std::filesystem::path> Handler::taken_by_deployment(const std::string& deployment,
                                                                  const std::string& name) const {
  // Checked in the order an entry travels (queues -> active -> done/failed). Each move links
  // into the next folder before unlinking from the previous one, so an entry moving while we
  // look is always found in a later folder.
  for (const auto& folder : layout_.entry_folders(deployment)) {
    if (queue_layout::exists(folder, name)) return folder;
  }
  return std::nullopt;
}

bool Handler::quarantine(const std::string& name, const std::string& reason) {
  const auto ec = queue_layout::quarantine(inbox_, layout_.rejected(), name, reason);
  if (ec == std::errc::file_exists) {
    // Never replace what an operator has not looked at yet, never delete: leave it in the inbox
    // and skip it until restart, logged once.
    if (stuck_.insert(name).second) {
      common::log::error(
          "cannot reject entry: rejected/ already holds a different file of this "
          "name; left in the inbox",
          {{"entry", name}, {"reason", reason}});
    }
    return false;
  }
  if (ec == std::errc::no_such_file_or_directory) return false;  // removed meanwhile
  if (ec) {
    throw FsError(
        "cannot move " + (inbox_ / name).string() + " into " + layout_.rejected().string(), ec);
  }
  return true;
}

}  // namespace router
