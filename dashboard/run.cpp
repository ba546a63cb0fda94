// run.cpp: the dashboard's start-up: users, the ledger's connect timeout, metrics, then serve();
// and what a SIGHUP does (server.hpp).
#include <cstdlib>

#include "common/log.hpp"
#include "dashboard/metrics.hpp"
#include "dashboard/server.hpp"

namespace dashboard {

std::string reload_refusal(const common::Config& current, const common::Config& next) {
  if (current.dashboard.listen.host != next.dashboard.listen.host ||
      current.dashboard.listen.port != next.dashboard.listen.port) {
    return "dashboard.listen changed: that needs a restart of the dashboard";
  }
  try {
    load_users(next);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

int run(const common::Config& config, common::ConfigReload* reload) {
  // An unreachable database host must not hold a page for the kernel's connect timeout.
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);
  Auth auth(load_users(config));
  App app(config, auth,
          [](const common::Config& now) { return render_metrics(gather_metrics(now)); });
  std::function<void()> on_reload;
  if (reload != nullptr) {
    on_reload = [&app, reload] {
      if (!reload->load(*app.config())) return;
      const common::Config next = reload->take();
      try {
        // Read again: a hash file may have changed since the check a moment ago.
        app.reload(next, load_users(next));
        common::log::info("configuration in effect", {{"file", next.file.string()}});
      } catch (const std::exception& e) {
        common::log::error("configuration not reloaded: still running on the previous one",
                           {{"file", next.file.string()}, {"error", e.what()}});
      }
    };
  }
  return serve(config, app, std::move(on_reload));
}

}  // namespace dashboard
