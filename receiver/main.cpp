// main.cpp: `receiver --config FILE`: the GitHub webhook endpoint (see server.hpp,
// docs/receiver.md).
#include "common/cli.hpp"
#include "receiver/server.hpp"

int main(int argc, char** argv) {
  common::StandardOptions options;
  return common::run_main(
      "receiver", argc, argv,
      [&](CLI::App& app) {
        app.description("Receives GitHub webhooks and stores each delivery durably in inbox/");
        common::add_standard_options(app, options);
      },
      [&] {
        auto load = [&] { return common::load_program_config(options); };
        common::ConfigReload reload(load, receiver::reload_refusal);
        return receiver::run(load(), &reload);
      });
}
