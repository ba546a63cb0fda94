// main.cpp: `deployer --config FILE --deployment NAME`: deploys one deployment's queue.
// Everything but the command line lives in service.cpp and the deployer_lib library.
#include <unistd.h>

#include <stdexcept>

#include "common/cli.hpp"
#include "common/hosts.hpp"
#include "deployer/run_as.hpp"
#include "deployer/service.hpp"

int main(int argc, char** argv) {
  common::StandardOptions options;
  std::string deployment;
  return common::run_main(
      "deployer", argc, argv,
      [&](CLI::App& app) {
        app.description("Deploys the entries of one deployment's queue, one at a time.");
        common::add_standard_options(app, options);
        app.add_option("--deployment", deployment, "the deployment to run (a key of deployments)")
            ->required();
      },
      [&] {
        auto load = [&] {
          auto config = common::load_program_config(options);
          // A deployment whose hosts leave this machine out has no deployer here (hosts.hpp).
          if (const auto it = config.deployments.find(deployment); it != config.deployments.end()) {
            common::require_on_this_host(config, it->second);
          }
          return config;
        };
        // A configuration without this deployment cannot be taken in place: the deployer keeps
        // deploying with the old one until PM2 (the ecosystem file) stops it.
        common::ConfigReload reload(
            load, [&](const common::Config&, const common::Config& next) -> std::string {
              if (next.deployments.count(deployment) == 0) {
                return "the deployment " + deployment + " is no longer in it";
              }
              // The start-up refusal of a run_as that would give steps the pipeline's powers.
              try {
                deployer::check_run_as(next, next.deployment(deployment), ::geteuid());
              } catch (const std::runtime_error& e) {
                return e.what();
              }
              return "";
            });
        return common::serve_reloading(load(), reload, [&](const common::Config& config) {
          return deployer::run(config, deployment, &reload);
        });
      });
}
