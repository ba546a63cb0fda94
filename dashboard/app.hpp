// app.hpp: what the dashboard answers to each request: routing, login and sessions, the CSRF
// check, the operator's actions, and the security headers every answer carries. No socket here
// (server.cpp moves the bytes), so the whole decision is testable with plain Requests.
//
// Order of checks for everything but /healthz, /static/*, /metrics and /login:
//   no live session                      -> 303 to /login (pages, the API and POSTs alike)
//   POST without the session's CSRF token -> 403 ("missing" or "wrong CSRF token")
//   POST that acts, by a viewer          -> 403 (only operators act)
// then the page or the action. Actions write exactly what `deployctl retry`, `deployctl enqueue`
// and `deployctl rollback` write (deployctl/actions.hpp) and answer 303 back to the deployment's
// page.
//
// Thread-safe: handle() may run on several threads at once (each call reads the state directory
// and opens its own ledger connection).
#pragma once

#include <functional>
#include <string>

#include "common/config.hpp"
#include "dashboard/auth.hpp"
#include "dashboard/message.hpp"
#include "dashboard/snapshot.hpp"

namespace dashboard {

inline constexpr std::string_view kSessionCookie = "dashboard_session";

class App {
 public:
  /// `metrics` renders /metrics (metrics.hpp); empty: /metrics answers 404.
  App(const common::Config& config, Auth& auth, std::function<std::string()> metrics = {});

  Response handle(const Request& request);

  /// The next piece of a run's log for the event stream (snapshot.hpp).
  LogChunk follow(std::int64_t run_id, std::uint64_t offset) const;

 private:
  Response route(const Request& request);
  Response login(const Request& request);
  Response act(const Request& request, const Session& session, std::string_view path);
  Response page(const Request& request, const Session& session, std::string_view path);
  Response metrics(const Request& request);

  const common::Config& config_;
  Auth& auth_;
  Snapshots snapshots_;
  std::function<std::string()> metrics_;
  bool secure_cookie_;
};

}  // namespace dashboard
