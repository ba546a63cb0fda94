// main.cpp: `deployer --config FILE --deployment NAME`: deploys one deployment's queue.
// Everything but the command line lives in service.cpp and the deployer_lib library.
#include "common/cli.hpp"
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
        const common::Config config = common::load_config_for(options);
        common::refuse_root_unless_allowed(config);
        return deployer::run(config, deployment);
      });
}
