// commands.hpp: deployctl's subcommands. Each cmd_<name>.cpp adds one subcommand to the app;
// when the command line selects it, its callback stores the work to do in Context::action, and
// run_program (program.hpp, on common::run_main) runs that action: 0 on success, one error line
// and 1 on failure, 2 on a usage error.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "common/cli.hpp"

namespace deployctl {

struct Context {
  common::StandardOptions options;  // --config FILE, shared by every subcommand
  std::function<int()> action;      // set by the chosen subcommand's callback
};

/// A failure the command diagnosed itself ("no failed entry ... in ..."): printed as the one
/// error line, exit status 1. Any other exception is reported the same way.
class Failure : public std::runtime_error {
 public:
  explicit Failure(const std::string& message) : std::runtime_error(message) {}
};

/// A command line that is wrong in a way CLI11 cannot see: exit status 2 (common/cli.hpp).
using UsageError = common::UsageError;

/// `deployctl migrate`: applies the ledger's migrations (cmd_migrate.cpp).
void add_migrate(CLI::App& app, Context& context);
/// `deployctl status [--json]`: queues, active entries, last outcomes (cmd_status.cpp).
void add_status(CLI::App& app, Context& context);
/// `deployctl enqueue DEPLOYMENT --sha SHA [--ref REF]`: a replay entry (cmd_enqueue.cpp).
void add_enqueue(CLI::App& app, Context& context);
/// `deployctl retry DEPLOYMENT [ENTRY...]`: failed entries back into the queue (cmd_retry.cpp).
void add_retry(CLI::App& app, Context& context);
/// `deployctl check-config`: the resolved configuration, secrets masked (cmd_check_config.cpp).
void add_check_config(CLI::App& app, Context& context);
/// `deployctl send-test-push DEPLOYMENT [--sha SHA]`: a signed push to the receiver
/// (cmd_send_test_push.cpp).
void add_send_test_push(CLI::App& app, Context& context);
/// `deployctl logs DEPLOYMENT [ENTRY]`: a deploy run's log (cmd_logs.cpp).
void add_logs(CLI::App& app, Context& context);
/// `deployctl rollback DEPLOYMENT [--to SHA|RELEASE] [--wait]`: a rollback entry
/// (cmd_rollback.cpp).
void add_rollback(CLI::App& app, Context& context);
/// `deployctl releases DEPLOYMENT [--json]`: the kept releases (cmd_releases.cpp).
void add_releases(CLI::App& app, Context& context);
/// `deployctl notify-test NAME`: a test message to one notification (cmd_notify_test.cpp).
void add_notify_test(CLI::App& app, Context& context);

/// `deployctl hash-password`: a dashboard password's hash (cmd_hash_password.cpp).
void add_hash_password(CLI::App& app, Context& context);

}  // namespace deployctl
