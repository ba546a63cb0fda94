// pages.hpp: every HTML page, as a pure function of a snapshot (snapshot.hpp), the viewer and
// the time. No I/O: tests render them directly.
#pragma once

#include <string>
#include <string_view>

#include "dashboard/html.hpp"
#include "dashboard/snapshot.hpp"

namespace dashboard {

/// The login form; `error` (may be empty) is shown above it.
std::string login_page(std::string_view error);

/// Each deployment: live commit, last outcome and when, queue, the running deploy's log tail.
std::string overview_page(const Overview& overview, const Viewer& viewer, Time now);

/// A deployment's history, one page of runs, and its failed entries (retry for operators).
std::string deployment_page(const DeploymentView& view, const Viewer& viewer, Time now);

/// One run: its steps, the whole log, live follow while it runs.
std::string run_page(const RunView& view, const Viewer& viewer, Time now);

/// Failed entries of every deployment (retry for operators) and quarantined files.
std::string failures_page(const Failures& failures, const Viewer& viewer);

/// A short page for 403/404/... with `message`.
std::string message_page(std::string_view title, std::string_view message, const Viewer& viewer);

}  // namespace dashboard
