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
// and opens its own ledger connection). reload() swaps the configuration and the users while
// requests run: each request keeps the configuration it started with.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "dashboard/auth.hpp"
#include "dashboard/message.hpp"
#include "dashboard/snapshot.hpp"

namespace dashboard {

inline constexpr std::string_view kSessionCookie = "dashboard_session";

class App {
 public:
  /// Renders /metrics (metrics.hpp) from a configuration; empty: /metrics answers 404.
  using Metrics = std::function<std::string(const common::Config&)>;

  App(const common::Config& config, Auth& auth, Metrics metrics = {});

  Response handle(const Request& request);

  /// The next piece of a run's log for the event stream (snapshot.hpp).
  LogChunk follow(std::int64_t run_id, std::uint64_t offset) const;

  /// The configuration now in effect.
  std::shared_ptr<const common::Config> config() const;
  /// A reloaded configuration and its users (load_users of it) take effect for the next
  /// requests; sessions of users no longer listed end, the others keep their (new) role.
  void reload(const common::Config& next, std::vector<User> users);

 private:
  Response route(const common::Config& config, const Request& request);
  Response login(const common::Config& config, const Request& request);
  Response act(const common::Config& config, const Request& request, const Session& session,
               std::string_view path);
  Response page(const common::Config& config, const Request& request, const Session& session,
                std::string_view path);
  Response metrics(const common::Config& config, const Request& request);

  mutable std::mutex config_mutex_;
  std::shared_ptr<const common::Config> config_;  // guarded by config_mutex_
  Auth& auth_;
  Metrics metrics_;
};

}  // namespace dashboard
