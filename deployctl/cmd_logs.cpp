// cmd_logs.cpp: `deployctl logs DEPLOYMENT [ENTRY]`: prints the log of one deploy run,
// logs/DEPLOYMENT/<entry>.log (deployer/run_log.hpp: "===" lines from the deployer, "|" lines of
// output), to stdout; which file it is goes to stderr. Without ENTRY, the log written last (by
// modification time: a retried older entry's log is the newest when it ran last). Reads only;
// works without the database. Exit 1 when there is no such log.
//
// Step output is whatever the step printed, escape sequences included: on a terminal they would
// recolour, move the cursor, retitle the window or worse. So when stdout is a terminal, control
// characters (C0 but newline and tab, DEL, C1) and bytes that are not UTF-8 are shown escaped
// (\x1b, \u009b; common/printable.hpp); --raw, or a pipe or a file, gets the bytes as stored.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <system_error>

#include "common/printable.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

namespace fs = std::filesystem;

struct LogsOptions {
  std::string deployment;
  std::string entry;
  bool raw = false;
};

constexpr std::string_view kLogSuffix = ".json.log";

fs::path newest_log(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  std::optional<fs::path> best;
  fs::file_time_type best_time;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.') || !name.ends_with(kLogSuffix)) continue;
    std::error_code time_ec;
    const auto time = it->last_write_time(time_ec);
    if (time_ec) continue;
    // Ties (same mtime) go to the later entry name, i.e. the later arrival.
    if (!best || time > best_time || (time == best_time && it->path() > *best)) {
      best = it->path();
      best_time = time;
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw Failure("cannot list " + dir.string() + ": " + ec.message());
  }
  if (!best) throw Failure("no deploy logs in " + dir.string() + " yet");
  return *best;
}

int run_logs(const Context& context, const LogsOptions& options) {
  const std::string entry =
      options.entry.empty() ? std::string() : entry_argument(options.entry, "ENTRY");
  const common::Config config = load(context);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  const fs::path dir = layout_of(config).logs(deployment.name);
  const fs::path file = entry.empty() ? newest_log(dir) : dir / (entry + ".log");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw Failure("no log " + file.string() + " (has it run yet?)");
    throw Failure("cannot read " + file.string());
  }
  std::cerr << "deployctl: " << file.string() << "\n";
  if (options.raw || ::isatty(STDOUT_FILENO) == 0) {
    // Copied in chunks (a log can be large); an empty log prints nothing and is not an error.
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      std::cout.write(buffer, in.gcount());
    }
  } else {
    // Line by line, so that no UTF-8 sequence is cut in two between reads.
    std::string line;
    std::string shown;
    while (std::getline(in, line)) {
      shown.clear();
      common::append_printable(shown, line, {true});
      if (!in.eof()) shown += '\n';
      std::cout << shown;
    }
  }
  std::cout.flush();
  if (!std::cout) throw Failure("cannot write the log to stdout");
  return 0;
}

}  // namespace

void add_logs(CLI::App& app, Context& context) {
  auto options = std::make_shared<LogsOptions>();
  CLI::App* command =
      app.add_subcommand("logs", "Print a deploy run's log (the latest one by default)");
  command->add_option("DEPLOYMENT", options->deployment, "the deployment (a key of deployments)")
      ->required();
  command->add_option("ENTRY", options->entry,
                      "the entry whose run log to print (default: the log written last)");
  command->add_flag("--raw", options->raw,
                    "print the bytes as stored, even on a terminal (escape sequences included)");
  command->callback([&context, options] {
    context.action = [&context, options] { return run_logs(context, *options); };
  });
}

}  // namespace deployctl
