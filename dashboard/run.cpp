// run.cpp: the dashboard's start-up: users, the ledger's connect timeout, metrics, then serve().
#include <cstdlib>

#include "dashboard/metrics.hpp"
#include "dashboard/server.hpp"

namespace dashboard {

int run(const common::Config& config) {
  // An unreachable database host must not hold a page for the kernel's connect timeout.
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);
  Auth auth(load_users(config));
  App app(config, auth, [&config] { return render_metrics(gather_metrics(config)); });
  return serve(config, app);
}

}  // namespace dashboard
