// main.cpp: deployctl, the operator's command. Everything lives in program.cpp (the command line
// and its exit statuses) and one cmd_<name>.cpp per subcommand (see commands.hpp).
#include "deployctl/program.hpp"

int main(int argc, char** argv) {
  return deployctl::run_program(argc, argv);
}
