// status_format.cpp: the JSON and text forms of a StatusReport (see status_report.hpp and the key
// list in docs/operations.md). Pure: no I/O.
#include <algorithm>
#include <sstream>

#include "common/timefmt.hpp"
#include "deployctl/status_report.hpp"

namespace deployctl {
namespace {

using nlohmann::json;

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 12);
}

std::chrono::seconds age(Time since, Time now) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - since);
  return seconds.count() < 0 ? std::chrono::seconds(0) : seconds;
}

json run_json(const std::optional<ledger::Run>& run, bool with_error) {
  if (!run) return nullptr;
  json out = {
      {"run_id", run->id},
      {"entry", run->entry_name},
      {"sha", run->sha},
      {"ref", run->ref},
      {"started_at", common::utc_timestamp_ms(run->started_at)},
      {"finished_at",
       run->finished_at ? json(common::utc_timestamp_ms(*run->finished_at)) : json(nullptr)},
  };
  if (with_error) out["error"] = run->error;
  return out;
}

json releases_json(const std::optional<ReleaseStatus>& releases) {
  if (!releases) return nullptr;
  return {{"live", releases->live ? json(*releases->live) : json(nullptr)},
          {"commit", releases->commit.empty() ? json(nullptr) : json(releases->commit)},
          {"kept", releases->kept}};
}

json active_json(const std::optional<ActiveEntry>& active, Time now) {
  if (!active) return nullptr;
  return {
      {"entry", active->entry},
      {"sha", active->sha.empty() ? json(nullptr) : json(active->sha)},
      {"ref", active->ref.empty() ? json(nullptr) : json(active->ref)},
      {"since", active->since ? json(common::utc_timestamp_ms(*active->since)) : json(nullptr)},
      {"seconds", active->since ? json(age(*active->since, now).count()) : json(nullptr)},
      {"run_id", active->run_id ? json(*active->run_id) : json(nullptr)},
      {"state", active->state.empty() ? json(nullptr) : json(active->state)},
      {"attempt", active->attempt},
      {"reason", active->reason.empty() ? json(nullptr) : json(active->reason)},
      {"next_attempt_at", active->next_attempt_at
                              ? json(common::utc_timestamp_ms(*active->next_attempt_at))
                              : json(nullptr)},
      {"checks_deadline", active->checks_deadline
                              ? json(common::utc_timestamp_ms(*active->checks_deadline))
                              : json(nullptr)},
  };
}

json time_or_null(const std::optional<Time>& time) {
  return time ? json(common::utc_timestamp_ms(*time)) : json(nullptr);
}

// A run with its outcome ("running" while unfinished), for a host's last run.
json outcome_run_json(const std::optional<ledger::Run>& run) {
  if (!run) return nullptr;
  json out = run_json(run, true);
  out["outcome"] = run->outcome ? std::string(ledger::to_string(*run->outcome)) : "running";
  return out;
}

// What the whole rollout and a host's part of it both say about the rollout.
json rollout_outcome_json(const ledger::Rollout& rollout) {
  return {
      {"entry", rollout.entry_name},
      {"sha", rollout.sha},
      {"state", ledger::to_string(rollout.state)},
      {"reason", rollout.reason.empty() ? json(nullptr) : json(rollout.reason)},
      {"failed_host", rollout.failed_host ? json(*rollout.failed_host) : json(nullptr)},
  };
}

json rollout_json(const std::optional<ledger::Rollout>& rollout) {
  if (!rollout) return nullptr;
  json hosts = json::array();
  for (const auto& name : rollout->hosts) {
    const auto* row = rollout->row(name);
    hosts.push_back({
        {"name", name},
        {"state", row ? json(ledger::to_string(row->state)) : json(nullptr)},
        {"release", row && row->release ? json(*row->release) : json(nullptr)},
        {"error", row && !row->error.empty() ? json(row->error) : json(nullptr)},
    });
  }
  json out = rollout_outcome_json(*rollout);
  out["max_parallel"] = rollout->max_parallel;
  out["created_at"] = common::utc_timestamp_ms(rollout->created_at);
  out["updated_at"] = common::utc_timestamp_ms(rollout->updated_at);
  out["finished_at"] = time_or_null(rollout->finished_at);
  out["hosts"] = std::move(hosts);
  return out;
}

// One host's part of the newest rollout: the rollout's outcome and this host's row.
json host_rollout_json(const std::optional<ledger::Rollout>& rollout, const std::string& host) {
  if (!rollout) return nullptr;
  const auto* row = rollout->row(host);
  json out = rollout_outcome_json(*rollout);
  out.update({
      {"host_state", row ? json(ledger::to_string(row->state)) : json(nullptr)},
      {"release", row && row->release ? json(*row->release) : json(nullptr)},
      {"error", row && !row->error.empty() ? json(row->error) : json(nullptr)},
      {"joined_at", row ? json(common::utc_timestamp_ms(row->joined_at)) : json(nullptr)},
      {"seen_at", row ? json(common::utc_timestamp_ms(row->seen_at)) : json(nullptr)},
      {"built_at", row ? time_or_null(row->built_at) : json(nullptr)},
      {"switch_started_at", row ? time_or_null(row->switch_started_at) : json(nullptr)},
      {"live_at", row ? time_or_null(row->live_at) : json(nullptr)},
      {"ended_at", row ? time_or_null(row->ended_at) : json(nullptr)},
  });
  return out;
}

json hosts_json(const DeploymentStatus& d) {
  if (d.hosts.empty()) return nullptr;
  json out = json::array();
  for (const auto& host : d.hosts) {
    out.push_back({
        {"name", host.name},
        {"this_host", host.this_host},
        {"ledger_name", host.ledger_name},
        {"live_release", host.live_release ? json(*host.live_release) : json(nullptr)},
        {"commit", host.last_success ? json(host.last_success->sha) : json(nullptr)},
        {"last_success", run_json(host.last_success, false)},
        {"last_run", outcome_run_json(host.last_run)},
        {"rollout", host_rollout_json(d.rollout, host.name)},
    });
  }
  return out;
}

// "web1  live 2026...-abc (abc123456789)  last run succeeded 3m05s ago  rollout: rolled_back"
std::string host_line(const HostStatus& host, const std::optional<ledger::Rollout>& rollout,
                      std::size_t width, Time now) {
  std::string line = host.name + std::string(width - host.name.size(), ' ');
  line += host.this_host ? " * " : "   ";
  if (host.last_success) {
    line += "live " + (host.live_release ? *host.live_release + " " : std::string()) + "(" +
            short_sha(host.last_success->sha) + ")";
  } else {
    line += "nothing deployed yet";
  }
  if (host.last_run) {
    const auto& run = *host.last_run;
    const std::string outcome =
        run.outcome ? std::string(ledger::to_string(*run.outcome)) : std::string("running");
    const Time when = run.finished_at.value_or(run.started_at);
    line += "; last run " + outcome + " " + human_duration(age(when, now)) + " ago (" +
            (run.sha.empty() ? std::string("no commit") : short_sha(run.sha)) + ")";
  }
  if (rollout) {
    const auto* row = rollout->row(host.name);
    line += "; rollout: " + (row ? std::string(ledger::to_string(row->state)) : "waiting");
    if (row && !row->error.empty()) line += " (" + row->error + ")";
  }
  return line;
}

// The second line of "active:" while the entry waits (docs/operations.md).
std::string waiting_line(const ActiveEntry& active, Time now) {
  if (active.state == "retrying" && active.next_attempt_at) {
    return "retrying: attempt " + std::to_string(active.attempt) + " at " +
           common::utc_timestamp_ms(*active.next_attempt_at) + " (in " +
           human_duration(age(now, *active.next_attempt_at)) + "); last error: " + active.reason;
  }
  if (active.state == "waiting") {
    return active.reason +
           (active.checks_deadline
                ? " (gives up at " + common::utc_timestamp_ms(*active.checks_deadline) + ")"
                : std::string());
  }
  return "";
}

std::string run_line(const std::optional<ledger::Run>& run, Time now, bool with_error,
                     bool reachable) {
  if (!reachable) return "unknown (ledger not reachable)";
  if (!run) return "none";
  const Time when = run->finished_at.value_or(run->started_at);
  // A file that could not be read as an entry fails without a commit.
  const std::string commit = run->sha.empty() ? std::string("no commit") : short_sha(run->sha);
  std::string line = commit + " at " + common::utc_timestamp_ms(when) + " (" +
                     human_duration(age(when, now)) + " ago), entry " + run->entry_name;
  if (with_error && !run->error.empty()) line += "\n                " + run->error;
  return line;
}

}  // namespace

std::string rollout_line(const ledger::Rollout& rollout) {
  std::string line = "rollout of " + rollout.sha.substr(0, 7) + ": ";
  line += ledger::to_string(rollout.state);
  std::string reason = rollout.reason;
  if (rollout.failed_host) {
    line += " on " + *rollout.failed_host;
    // The ledger's reason is "<host>: <error>": the host is said already.
    if (reason.starts_with(*rollout.failed_host + ": ")) {
      reason.erase(0, rollout.failed_host->size() + 2);
    }
  }
  if (!reason.empty()) line += " (" + reason + ")";
  line += ":";
  bool first = true;
  for (const auto& name : rollout.hosts) {
    const auto* row = rollout.row(name);
    line += (first ? " " : ", ") + name + " " +
            (row ? std::string(ledger::to_string(row->state)) : std::string("waiting"));
    first = false;
  }
  return line;
}

std::string human_duration(std::chrono::seconds duration) {
  const long long s = duration.count() < 0 ? 0 : duration.count();
  char buffer[32];
  if (s < 60) {
    std::snprintf(buffer, sizeof buffer, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
  }
  return buffer;
}

json to_json(const StatusReport& report) {
  json deployments = json::object();
  for (const auto& d : report.deployments) {
    deployments[d.name] = {
        {"repository", d.repository},
        {"branch", d.branch},
        {"enabled", d.enabled},
        {"queue", {{"length", d.queued.size()}, {"entries", d.queued}, {"strays", d.queue_strays}}},
        {"active", active_json(d.active, report.generated_at)},
        {"last_success", run_json(d.last_success, false)},
        {"last_failure", run_json(d.last_failure, true)},
        {"last_skipped", run_json(d.last_skipped, true)},
        {"failed",
         {{"count", d.failed.size()}, {"entries", d.failed}, {"strays", d.failed_strays}}},
        {"done", {{"count", d.done}}},
        {"releases", releases_json(d.releases)},
        {"hosts", hosts_json(d)},
        {"rollout", rollout_json(d.rollout)},
    };
  }
  return {
      {"instance", report.instance},
      {"host", report.host},
      {"state_dir", report.state_dir},
      {"generated_at", common::utc_timestamp_ms(report.generated_at)},
      {"database",
       {{"reachable", report.database_reachable},
        {"note", report.database_note.empty() ? json(nullptr) : json(report.database_note)}}},
      {"inbox", {{"waiting", report.inbox}}},
      {"rejected", {{"count", report.rejected}}},
      {"deployments", std::move(deployments)},
      {"notes", report.notes},
  };
}

std::string to_text(const StatusReport& report) {
  const Time now = report.generated_at;
  std::ostringstream out;
  out << "instance " << report.instance << " on host " << report.host << ", state directory "
      << report.state_dir << "\n";
  out << "inbox: " << report.inbox << " waiting for the router; rejected: " << report.rejected
      << (report.rejected ? " (see rejected/*.reason)" : "") << "\n";
  for (const auto& d : report.deployments) {
    out << "\n"
        << d.name << " (" << d.repository << "@" << d.branch << ")"
        << (d.enabled ? "" : " DISABLED") << "\n";
    out << "  queue:        " << d.queued.size() << " waiting";
    if (!d.queued.empty()) out << ", oldest " << d.queued.front();
    if (!d.queue_strays.empty()) out << "; " << d.queue_strays.size() << " odd file(s)";
    out << "\n";
    out << "  active:       ";
    if (d.active) {
      out << d.active->entry;
      if (!d.active->sha.empty()) out << " (" << short_sha(d.active->sha) << ")";
      if (d.active->since) out << " for " << human_duration(age(*d.active->since, now));
      if (const auto line = waiting_line(*d.active, now); !line.empty()) {
        out << "\n                " << line;
      }
    } else {
      out << "none";
    }
    out << "\n";
    out << "  last success: " << run_line(d.last_success, now, false, report.database_reachable)
        << "\n";
    out << "  last failure: " << run_line(d.last_failure, now, true, report.database_reachable)
        << "\n";
    // Only when there is one: most deployments have no path filters.
    if (d.last_skipped) {
      out << "  last skipped: " << run_line(d.last_skipped, now, true, true) << "\n";
    }
    out << "  failed:       " << d.failed.size() << " waiting";
    if (!d.failed.empty()) out << " (deployctl retry " << d.name << ")";
    if (!d.failed_strays.empty()) {
      // Not entries, so `retry` leaves them: say where they are and what to do.
      out << "; " << d.failed_strays.size() << " quarantined file(s) in " << report.state_dir
          << "/failed/" << d.name << "/ (not entries: read each <name>.reason, fix the file and "
          << "drop it into queues/" << d.name << "/, or delete both)";
    }
    out << "\n";
    out << "  done:         " << d.done << "\n";
    if (d.releases) {
      out << "  release:      "
          << (d.releases->live ? *d.releases->live + " (" + short_sha(d.releases->commit) + ")"
                               : std::string("none live yet"))
          << ", " << d.releases->kept << " kept (deployctl releases " << d.name << ")\n";
    }
    if (!d.hosts.empty()) {
      out << "  hosts:        " << d.hosts.size() << " (* this host; from the ledger)\n";
      std::size_t width = 0;
      for (const auto& host : d.hosts) width = std::max(width, host.name.size());
      for (const auto& host : d.hosts) {
        out << "    "
            << (report.database_reachable ? host_line(host, d.rollout, width, now)
                                          : host.name + " unknown (ledger not reachable)")
            << "\n";
      }
      if (d.rollout) out << "  " << rollout_line(*d.rollout) << "\n";
    }
  }
  if (!report.database_reachable) {
    out << "\nnote: the ledger is not reachable, so last outcomes are not shown (folders only): "
        << report.database_note << "\n";
  }
  for (const auto& note : report.notes) out << "note: " << note << "\n";
  return out.str();
}

}  // namespace deployctl
