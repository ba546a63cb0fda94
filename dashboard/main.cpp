// main.cpp: `dashboard --config FILE`: the web dashboard and metrics (server.hpp,
// docs/dashboard.md).
#include "common/cli.hpp"
#include "dashboard/server.hpp"

int main(int argc, char** argv) {
  common::StandardOptions options;
  return common::run_main(
      "dashboard", argc, argv,
      [&](CLI::App& app) {
        app.description("Serves the deploy dashboard (pages, live logs, /metrics)");
        common::add_standard_options(app, options);
      },
      [&] {
        auto load = [&] { return common::load_program_config(options); };
        common::ConfigReload reload(load, dashboard::reload_refusal);
        return dashboard::run(load(), &reload);
      });
}
