// program.hpp: deployctl's command-line skeleton (exit statuses and the one error line).
//
// common::run_main with every subcommand added; the exit statuses an operator's command promises:
//   0  success (and --help, --version);
//   1  the command failed: one line "deployctl: error: <what>" on stderr;
//   2  the command line is wrong (unknown option, missing argument, an argument that fails its
//      check): one line "deployctl: error: <what> (see --help)" on stderr.
// Log lines of the libraries (the ledger's connection notes) are kept at level error unless
// DEPLOY_LOG_LEVEL says otherwise: an interactive command prints its result and nothing else.
#pragma once

#include "deployctl/commands.hpp"

namespace deployctl {

/// Parses argv with every subcommand added, runs the chosen one, returns the exit status.
int run_program(int argc, char** argv);

}  // namespace deployctl
