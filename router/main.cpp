// main.cpp: the router program: command line, configuration, then router::run (router.hpp).
#include "common/cli.hpp"
#include "router/router.hpp"

int main(int argc, char** argv) {
  common::StandardOptions options;
  return common::run_main(
      "router", argc, argv,
      [&](CLI::App& app) {
        app.description("Routes webhook entries from inbox/ into the deployments' queues");
        common::add_standard_options(app, options);
      },
      [&] {
        auto load = [&] { return common::load_program_config(options); };
        common::ConfigReload reload(load);
        return common::serve_reloading(load(), reload, [&](const common::Config& config) {
          return router::run(config, &reload);
        });
      });
}
