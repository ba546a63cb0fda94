// main.cpp: `deploy-step`: runs one deploy step under a subreaper (supervisor.hpp). The request
// comes on standard input from the deployer, through sudo; nothing is taken from the command line.
// `deploy-step layout ROOT OP ARGS...` (layout.hpp) is what such a request runs for the
// release-folder writes of a run_as deployment.
#include <unistd.h>

#include "common/cli.hpp"
#include "deploy-step/layout.hpp"
#include "deploy-step/supervisor.hpp"

int main(int argc, char** argv) {
  CLI::App* layout = nullptr;
  std::vector<std::string> layout_args;
  return common::run_main(
      "deploy-step", argc, argv,
      [&](CLI::App& app) {
        app.description(
            "Runs one deploy step as the deployment's user and ends every process it started "
            "(started by the deployer through sudo; reads its request on standard input).");
        layout = app.add_subcommand(
            "layout",
            "Release-folder writes as the deployment's user: ROOT create-release NAME | "
            "link-shared NAME ENTRY... | mark-complete NAME SHA | remove NAME | clean-incomplete");
        layout->add_option("args", layout_args, "ROOT OP ARGS...")->required();
      },
      [&] {
        if (layout->parsed()) return step::run_layout(layout_args);
        const step::Request request =
            common::parse_step_request(step::read_request_line(STDIN_FILENO));
        return step::supervise(request, STDIN_FILENO);
      });
}
