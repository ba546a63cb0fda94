// main.cpp: `deploy-step`: runs one deploy step under a subreaper (supervisor.hpp). The request
// comes on standard input from the deployer, through sudo; nothing is taken from the command line.
#include <unistd.h>

#include "common/cli.hpp"
#include "deploy-step/supervisor.hpp"

int main(int argc, char** argv) {
  return common::run_main(
      "deploy-step", argc, argv,
      [&](CLI::App& app) {
        app.description(
            "Runs one deploy step as the deployment's user and ends every process it started "
            "(started by the deployer through sudo; reads its request on standard input).");
      },
      [&] {
        const step::Request request =
            common::parse_step_request(step::read_request_line(STDIN_FILENO));
        return step::supervise(request, STDIN_FILENO);
      });
}
