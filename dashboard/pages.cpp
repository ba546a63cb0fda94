// pages.cpp: the HTML of every page (pages.hpp). Every value that comes from outside this file
// goes through escape().
#include "dashboard/pages.hpp"

#include "common/hosts.hpp"
#include "common/ledger/types.hpp"

namespace dashboard {
namespace {

std::string outcome_of(const ledger::Run& run) {
  return run.outcome ? std::string(ledger::to_string(*run.outcome)) : "running";
}

std::string outcome_span(const ledger::Run& run) {
  const auto outcome = outcome_of(run);
  return "<span class=\"" + outcome + "\">" + outcome + "</span>";
}

std::string run_link(const ledger::Run& run, std::string_view text) {
  return "<a href=\"/runs/" + std::to_string(run.id) + "\">" + escape(text) + "</a>";
}

std::string deployment_link(std::string_view name) {
  return "<a href=\"/deployments/" + escape(name) + "\">" + escape(name) + "</a>";
}

std::string message_for(const std::map<std::string, std::string>& messages,
                        const std::string& sha) {
  const auto it = messages.find(sha);
  return it == messages.end() ? std::string() : it->second;
}

std::string commit_cell(const std::string& sha, const std::string& message) {
  std::string out = "<code>" + escape(short_sha(sha)) + "</code>";
  if (!message.empty()) out += " " + escape(message);
  return out;
}

std::string ledger_note(bool reachable, const std::string& note) {
  if (reachable) return "";
  return "<p class=\"bad\">The ledger cannot be reached: " + escape(note) +
         ". The folders are shown as they are.</p>";
}

std::string failed_table(const std::vector<FailedEntry>& failed, const Viewer& viewer,
                         bool with_deployment) {
  if (failed.empty()) return "<p class=\"note\">No failed entries.</p>";
  std::string out = "<div class=\"scroll\"><table><thead><tr>";
  if (with_deployment) out += "<th>Deployment</th>";
  out += "<th>Entry</th><th>Commit</th><th>Why</th>";
  if (viewer.can_act) out += "<th>Action</th>";
  out += "</tr></thead><tbody>";
  for (const auto& entry : failed) {
    out += "<tr>";
    if (with_deployment) out += "<td>" + deployment_link(entry.deployment) + "</td>";
    out += "<td><code>" + escape(entry.entry) + "</code></td><td><code>" +
           escape(short_sha(entry.sha)) + "</code></td><td>" + escape(entry.reason) + "</td>";
    if (viewer.can_act) {
      out += "<td>" +
             action_form("/deployments/" + entry.deployment + "/retry", "Retry", viewer,
                         {{"entry", entry.entry}}) +
             "</td>";
    }
    out += "</tr>";
  }
  return out + "</tbody></table></div>";
}

// The kept releases of a release-mode deployment, newest first; an operator can switch back to
// any one that is not live (a rollback entry, as `deployctl rollback --to RELEASE` writes).
std::string releases_table(const DeploymentView& view, const Viewer& viewer) {
  if (!view.releases) {
    return "<p class=\"bad\">The releases cannot be read: " + escape(view.releases_note) + "</p>";
  }
  const auto& kept = *view.releases;
  if (kept.releases.empty()) return "<p class=\"note\">No release kept yet.</p>";
  std::string out =
      "<div class=\"scroll\"><table id=\"releases\"><thead><tr><th>Release</th><th>Commit</th>"
      "<th>Created</th><th>Outcome</th>";
  if (viewer.can_act) out += "<th>Action</th>";
  out += "</tr></thead><tbody>";
  for (const auto& release : kept.releases) {
    const std::string outcome = release.outcome.value_or("unknown");
    out += "<tr><td><code>" + escape(release.name) + "</code>" +
           (release.live ? " <strong class=\"ok\">live</strong>" : std::string()) + "</td><td>" +
           commit_cell(release.commit, message_for(view.messages, release.commit)) + "</td><td>" +
           escape(release.created) + "</td><td><span class=\"" + escape(outcome) + "\">" +
           escape(outcome) + "</span></td>";
    if (viewer.can_act) {
      out += "<td>";
      if (!release.live) {
        out += action_form("/deployments/" + view.status.name + "/rollback", "Roll back to this",
                           viewer, {{"to", release.name}});
      }
      out += "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
  if (!kept.ledger_reachable) {
    out += "<p class=\"note\">Outcomes unknown: " + escape(kept.ledger_note) + "</p>";
  }
  return out;
}

std::string host_state_span(const ledger::Rollout* rollout, const std::string& host) {
  if (!rollout) return "-";
  const auto* row = rollout->row(host);
  const std::string state = row ? std::string(ledger::to_string(row->state)) : "waiting";
  std::string out = "<span class=\"" + state + "\">" + escape(state) + "</span>";
  if (row && !row->error.empty())
    out += "<br><span class=\"note\">" + escape(row->error) + "</span>";
  return out;
}

// A deployment on several hosts: one row per host (from the ledger: each host's own records),
// with its part in the newest rollout.
std::string hosts_table(const deployctl::DeploymentStatus& d, bool reachable,
                        const std::map<std::string, std::string>& messages, Time now) {
  if (d.hosts.empty()) return "";
  std::string out =
      "<div class=\"scroll\"><table class=\"hosts\" aria-label=\"hosts of " + escape(d.name) +
      "\"><thead><tr><th>Host</th><th>Live</th><th>Last run</th><th>Rollout</th></tr></thead>"
      "<tbody>";
  const ledger::Rollout* rollout = d.rollout ? &*d.rollout : nullptr;
  for (const auto& host : d.hosts) {
    out += "<tr><td>" + escape(host.name) +
           (host.this_host ? " <span class=\"note\">(this host)</span>" : std::string()) +
           "</td><td>";
    if (!reachable) {
      out += "unknown";
    } else if (host.last_success) {
      out += commit_cell(host.last_success->sha, message_for(messages, host.last_success->sha));
      if (host.live_release) out += "<br><code>" + escape(*host.live_release) + "</code>";
    } else {
      out += "nothing deployed yet";
    }
    out += "</td><td>";
    if (host.last_run) {
      const auto& run = *host.last_run;
      out += outcome_span(run) + " " +
             run_link(run, ago(run.finished_at.value_or(run.started_at), now));
      if (!run.error.empty()) out += "<br><span class=\"note\">" + escape(run.error) + "</span>";
    } else {
      out += reachable ? "none" : "unknown";
    }
    out += "</td><td>" + host_state_span(rollout, host.name) + "</td></tr>";
  }
  out += "</tbody></table></div>";
  if (rollout) {
    out += "<p class=\"rollout\">" + escape(deployctl::rollout_line(*rollout)) + "</p>";
  }
  return out;
}

std::string deployment_card(const deployctl::DeploymentStatus& d, const Overview& overview,
                            Time now) {
  std::string out = "<section class=\"card\" aria-label=\"" + escape(d.name) + "\"><h2>" +
                    deployment_link(d.name) + "</h2><dl>";
  out += "<dt>Repository</dt><dd>" + escape(d.repository) + " @ " + escape(d.branch) +
         (d.enabled ? "" : " <span class=\"bad\">(disabled)</span>") + "</dd>";
  out += "<dt>Live</dt><dd>";
  if (d.last_success) {
    out += commit_cell(d.last_success->sha, message_for(overview.messages, d.last_success->sha));
    if (d.last_success->finished_at) {
      out += " <span class=\"note\">deployed " + escape(ago(*d.last_success->finished_at, now)) +
             "</span>";
    }
  } else {
    out += overview.report.database_reachable ? "nothing deployed yet" : "unknown";
  }
  out += "</dd><dt>Last outcome</dt><dd>";
  const ledger::Run* last = nullptr;
  for (const auto& run : d.recent) {
    if (run.finished_at) {
      last = &run;
      break;
    }
  }
  if (last) {
    out += outcome_span(*last) + " " + run_link(*last, ago(*last->finished_at, now)) +
           " <span class=\"note\">(" + escape(when(*last->finished_at)) + ")</span>";
    if (!last->error.empty()) out += "<br>" + escape(last->error);
  } else {
    out += "none";
  }
  out += "</dd><dt>Queue</dt><dd>" + std::to_string(d.queued.size()) + " waiting";
  if (!d.failed.empty()) {
    out += ", <a class=\"bad\" href=\"/deployments/" + escape(d.name) + "#failed\">" +
           std::to_string(d.failed.size()) + " failed</a>";
  }
  out += "</dd><dt>Running</dt><dd>";
  if (d.active) {
    out += "<span class=\"running\">deploying</span> <code>" + escape(short_sha(d.active->sha)) +
           "</code>";
    if (d.active->since) out += " for " + escape(span(now - *d.active->since));
    if (d.active->run_id) {
      out += " · <a href=\"/runs/" + std::to_string(*d.active->run_id) + "\">follow the log</a>";
    }
  } else {
    out += "idle";
  }
  out += "</dd></dl>";
  out += hosts_table(d, overview.report.database_reachable, overview.messages, now);
  if (d.active) {
    const auto it = overview.running_logs.find(d.name);
    if (it != overview.running_logs.end()) {
      out += "<pre class=\"log\" aria-label=\"log tail\">" +
             (it->second.cut ? std::string("…\n") : "") + escape(it->second.text) + "</pre>";
    }
  }
  return out + "</section>";
}

// The newest rollouts of a deployment on several hosts, newest first.
std::string rollouts_table(const DeploymentView& view, Time now) {
  if (view.rollouts.empty()) return "<p class=\"note\">No rollout recorded.</p>";
  std::string out =
      "<div class=\"scroll\"><table id=\"rollouts-table\"><thead><tr><th>Started</th>"
      "<th>Commit</th><th>Outcome</th><th>Hosts</th></tr></thead><tbody>";
  for (const auto& rollout : view.rollouts) {
    const std::string state(ledger::to_string(rollout.state));
    out += "<tr><td>" + escape(when(rollout.created_at)) + " <span class=\"note\">(" +
           escape(ago(rollout.created_at, now)) + ")</span></td><td>" +
           commit_cell(rollout.sha, message_for(view.messages, rollout.sha)) +
           "</td><td><span class=\"" + state + "\">" + escape(state) + "</span>";
    if (rollout.failed_host) out += " on " + escape(*rollout.failed_host);
    if (!rollout.reason.empty()) {
      out += "<br><span class=\"note\">" + escape(rollout.reason) + "</span>";
    }
    out += "</td><td>";
    bool first = true;
    for (const auto& host : rollout.hosts) {
      out += (first ? "" : "<br>") + escape(host) + " " + host_state_span(&rollout, host);
      first = false;
    }
    out += "</td></tr>";
  }
  return out + "</tbody></table></div>";
}

}  // namespace

std::string login_page(std::string_view error) {
  std::string body = "<div class=\"login\"><h1>Log in</h1>";
  if (!error.empty()) body += "<p class=\"error\" role=\"alert\">" + escape(error) + "</p>";
  body +=
      "<form method=\"post\" action=\"/login\"><label for=\"name\">Name</label>"
      "<input id=\"name\" name=\"name\" autocomplete=\"username\" required autofocus>"
      "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" "
      "type=\"password\" autocomplete=\"current-password\" required>"
      "<button type=\"submit\">Log in</button></form></div>";
  return page("Log in", Viewer{}, body);
}

std::string overview_page(const Overview& overview, const Viewer& viewer, Time now) {
  const auto& report = overview.report;
  std::string body = "<h1 data-refresh=\"15\">" + escape(report.instance) + "</h1>";
  body += ledger_note(report.database_reachable, report.database_note);
  body += "<p class=\"note\">" + std::to_string(report.inbox) + " in the inbox · " +
          std::to_string(report.rejected) + " rejected · updated " + escape(when(now)) + "</p>";
  for (const auto& note : report.notes) body += "<p class=\"bad\">" + escape(note) + "</p>";
  body += "<div class=\"cards\">";
  for (const auto& d : report.deployments) body += deployment_card(d, overview, now);
  body += "</div>";
  return page("Overview", viewer, body);
}

std::string deployment_page(const DeploymentView& view, const Viewer& viewer, Time now) {
  const auto& d = view.status;
  std::string body = "<h1>" + escape(d.name) + "</h1><p>" + escape(d.repository) + " @ " +
                     escape(d.branch) + " · " + std::to_string(d.queued.size()) + " waiting · " +
                     (d.active ? "deploying <code>" + escape(short_sha(d.active->sha)) + "</code>"
                               : std::string("idle")) +
                     "</p>";
  body += ledger_note(view.ledger_reachable, view.ledger_note);
  if (!d.hosts.empty()) {
    body += "<h2 id=\"hosts\">Hosts</h2>" +
            hosts_table(d, view.ledger_reachable, view.messages, now) +
            "<h2 id=\"rollouts\">Rollouts</h2>" + rollouts_table(view, now);
  }
  body += "<h2>History</h2>";
  if (view.runs.empty()) {
    body += "<p class=\"note\">No runs recorded.</p>";
  } else {
    body +=
        "<div class=\"scroll\"><table><thead><tr><th>Run</th><th>Started</th><th>Trigger</th>"
        "<th>Commit</th><th>Outcome</th><th>Duration</th>";
    if (viewer.can_act) body += "<th>Action</th>";
    body += "</tr></thead><tbody>";
    for (const auto& run : view.runs) {
      body += "<tr><td>" + run_link(run, "#" + std::to_string(run.id)) + "</td><td>" +
              escape(when(run.started_at)) + "</td><td>" +
              escape(run.trigger ? ledger::to_string(*run.trigger) : "-") + "</td><td>" +
              commit_cell(run.sha, message_for(view.messages, run.sha)) + "</td><td>" +
              outcome_span(run);
      if (!run.error.empty()) body += "<br><span class=\"note\">" + escape(run.error) + "</span>";
      body += "</td><td>" +
              (run.finished_at ? escape(span(*run.finished_at - run.started_at))
                               : escape(span(now - run.started_at)) + " so far") +
              "</td>";
      if (viewer.can_act) {
        body += "<td>";
        if (run.outcome == ledger::RunOutcome::succeeded) {
          body += action_form("/deployments/" + d.name + "/deploy", "Deploy again", viewer,
                              {{"sha", run.sha}, {"ref", run.ref}});
        }
        body += "</td>";
      }
      body += "</tr>";
    }
    body += "</tbody></table></div>";
  }
  const std::size_t pages =
      (static_cast<std::size_t>(view.total_runs) + view.page_size - 1) / view.page_size;
  if (pages > 1) {
    body += "<nav class=\"pager\" aria-label=\"pages\">";
    if (view.page > 0) {
      body += "<a href=\"/deployments/" + escape(d.name) + "?page=" + std::to_string(view.page) +
              "\">Newer</a>";
    }
    body +=
        "<span>page " + std::to_string(view.page + 1) + " of " + std::to_string(pages) + "</span>";
    if (view.page + 1 < pages) {
      body += "<a href=\"/deployments/" + escape(d.name) +
              "?page=" + std::to_string(view.page + 2) + "\">Older</a>";
    }
    body += "</nav>";
  }
  if (view.releases || !view.releases_note.empty()) {
    body += "<h2 id=\"kept-releases\">Kept releases</h2>" + releases_table(view, viewer);
  }
  body += "<h2 id=\"failed\">Failed entries</h2>" + failed_table(view.failed, viewer, false);
  return page(d.name, viewer, body);
}

std::string run_page(const RunView& view, const Viewer& viewer, Time now) {
  const auto& run = view.run;
  // A run of a deployment on several hosts is recorded under "<deployment>@<host>".
  const std::string deployment(common::deployment_of_ledger_name(run.deployment));
  std::string body =
      "<h1>Run #" + std::to_string(run.id) + " of " + deployment_link(deployment) + "</h1><dl>";
  if (deployment != run.deployment) {
    body += "<dt>Host</dt><dd>" + escape(run.deployment.substr(deployment.size() + 1)) + "</dd>";
  }
  body += "<dt>Outcome</dt><dd id=\"follow-status\" class=\"" + outcome_of(run) + "\">" +
          escape(outcome_of(run)) + "</dd>";
  if (!run.error.empty()) body += "<dt>Error</dt><dd>" + escape(run.error) + "</dd>";
  body += "<dt>Commit</dt><dd>" + commit_cell(run.sha, view.message) + "</dd>";
  body += "<dt>Ref</dt><dd>" + escape(run.ref) + "</dd>";
  body += "<dt>Entry</dt><dd><code>" + escape(run.entry_name) + "</code></dd>";
  body += "<dt>Trigger</dt><dd>" + escape(run.trigger ? ledger::to_string(*run.trigger) : "-") +
          "</dd>";
  body += "<dt>Started</dt><dd>" + escape(when(run.started_at)) + " (" +
          escape(ago(run.started_at, now)) + ")</dd>";
  if (run.finished_at) {
    body += "<dt>Duration</dt><dd>" + escape(span(*run.finished_at - run.started_at)) + "</dd>";
  }
  body += "</dl>";
  if (viewer.can_act && run.outcome == ledger::RunOutcome::succeeded) {
    body += "<p>" +
            action_form("/deployments/" + deployment + "/deploy", "Deploy this commit again",
                        viewer, {{"sha", run.sha}, {"ref", run.ref}}) +
            "</p>";
  }
  if (!run.steps.empty()) {
    body +=
        "<h2>Steps</h2><div class=\"scroll\"><table><thead><tr><th>#</th><th>Step</th>"
        "<th>Outcome</th><th>Exit</th><th>Duration</th></tr></thead><tbody>";
    for (const auto& step : run.steps) {
      const std::string outcome(ledger::to_string(step.outcome));
      body += "<tr><td>" + std::to_string(step.index) + "</td><td>" + escape(step.name) +
              "</td><td class=\"" + outcome + "\">" + outcome + "</td><td>" +
              (step.exit_code ? std::to_string(*step.exit_code) : "-") + "</td><td>" +
              escape(span(step.duration)) + "</td></tr>";
    }
    body += "</tbody></table></div>";
  }
  body += "<h2>Log</h2>";
  if (view.log_missing) {
    body += "<p class=\"note\">No log file for this run.</p>";
  } else {
    if (view.log_cut) body += "<p class=\"note\">The log is long: only its end is shown.</p>";
    body += "<pre class=\"log\" id=\"log\"";
    if (!run.finished_at) {
      body += " data-follow=\"/runs/" + std::to_string(run.id) + "/events\" data-offset=\"" +
              std::to_string(view.log_size) + "\"";
    }
    body += ">" + escape(view.log) + "</pre>";
  }
  return page("Run " + std::to_string(run.id), viewer, body);
}

std::string failures_page(const Failures& failures, const Viewer& viewer) {
  std::string body = "<h1>Failed and quarantined</h1><h2>Failed entries</h2>" +
                     failed_table(failures.failed, viewer, true);
  body += "<h2>Quarantined files</h2>";
  if (failures.quarantined.empty()) {
    body += "<p class=\"note\">Nothing quarantined.</p>";
  } else {
    body +=
        "<p class=\"note\">Files that could not be used, with the reason beside them. Fix "
        "one and drop it into the deployment's queue by hand.</p><div class=\"scroll\"><table>"
        "<thead><tr><th>Folder</th><th>File</th><th>Reason</th></tr></thead><tbody>";
    for (const auto& q : failures.quarantined) {
      body += "<tr><td>" + escape(q.folder) + "</td><td><code>" + escape(q.name) +
              "</code></td><td>" + escape(q.reason) + "</td></tr>";
    }
    body += "</tbody></table></div>";
  }
  return page("Failed", viewer, body);
}

std::string message_page(std::string_view title, std::string_view message, const Viewer& viewer) {
  return page(title, viewer,
              "<h1>" + escape(title) + "</h1><p>" + escape(message) +
                  "</p><p><a href=\"/\">"
                  "Back to the overview</a></p>");
}

}  // namespace dashboard
