// cmd_hash_password.cpp: `deployctl hash-password`: reads a password from standard input (one
// line; the echo is turned off when it is a terminal) and prints its argon2id hash
// (common/password.hpp) for a dashboard user's `password_hash`. Needs no configuration file.
// The password is never printed or logged; an empty one is refused.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "common/password.hpp"
#include "deployctl/commands.hpp"

namespace deployctl {
namespace {

// Reads one line from stdin without echoing it when stdin is a terminal.
std::string read_password() {
  termios saved{};
  const bool tty = ::isatty(STDIN_FILENO) == 1 && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    std::cerr << "Password: " << std::flush;
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int run_hash_password() {
  const std::string password = read_password();
  if (password.empty()) throw Failure("no password on standard input (an empty one is refused)");
  std::cout << common::hash_password(password) << "\n";
  return 0;
}

}  // namespace

void add_hash_password(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand(
      "hash-password",
      "Read a password on standard input and print its hash (for dashboard.users)");
  command->callback([&context] { context.action = [] { return run_hash_password(); }; });
  command->footer(
      "Example: build/bin/deployctl hash-password > /etc/deployer/alice.hash, then "
      "\"password_hash\": {\"file\": \"/etc/deployer/alice.hash\"}.");
}

}  // namespace deployctl
