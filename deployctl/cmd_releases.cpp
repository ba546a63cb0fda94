// cmd_releases.cpp: `deployctl releases DEPLOYMENT [--json]`: the kept releases of a
// release-mode deployment, newest first: name, commit, created, outcome and which one is live.
//
// The folders are the truth about what is kept (a complete release holds REVISION) and what is
// live (`current`); the ledger adds each release's outcome. When the ledger cannot be used the
// list is still printed, with outcome null and a note (as `deployctl status`). Reads only.
//
// JSON: {"deployment": "demo", "root": "/var/www/demo", "live": "<name>" | null,
//        "releases": [{"name", "commit", "created", "outcome", "live"}],
//        "database": {"reachable": bool, "note": "..."}}
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "common/ledger/ledger.hpp"
#include "common/release_layout.hpp"
#include "common/secrets.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

struct ReleasesOptions {
  std::string deployment;
  bool json = false;
};

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

int run_releases(const Context& context, const ReleasesOptions& options) {
  const common::Config config = load(context);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  if (!deployment.releases) {
    throw Failure("deployment " + deployment.name + " is not in release mode (no \"releases\")");
  }
  const common::ReleaseLayout layout(deployment.path);
  std::error_code ec;
  const auto live = layout.live(ec);
  if (ec) throw Failure(layout.current().string() + ": " + ec.message());
  auto complete = layout.complete(ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw Failure("cannot list " + layout.releases().string() + ": " + ec.message());
  }
  std::map<std::string, std::string> outcomes;
  bool reachable = false;
  std::string note;
  try {
    ledger::Ledger ledger(common::database_url(config));
    ledger.require_schema();
    for (const auto& row : ledger.releases(deployment.name)) {
      outcomes[row.name] = std::string(ledger::to_string(row.outcome));
    }
    reachable = true;
  } catch (const std::exception& e) {
    note = first_line(e.what());
  }

  nlohmann::json list = nlohmann::json::array();
  for (auto it = complete.rbegin(); it != complete.rend(); ++it) {
    const auto found = outcomes.find(*it);
    list.push_back({{"name", *it},
                    {"commit", layout.revision(*it)},
                    {"created", common::release_created(*it)},
                    {"outcome", found == outcomes.end() ? nlohmann::json(nullptr)
                                                        : nlohmann::json(found->second)},
                    {"live", live && *live == *it}});
  }
  if (options.json) {
    nlohmann::json out = {{"deployment", deployment.name},
                          {"root", deployment.path.string()},
                          {"live", live ? nlohmann::json(*live) : nlohmann::json(nullptr)},
                          {"releases", list},
                          {"database", {{"reachable", reachable}, {"note", note}}}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << deployment.name << ": " << list.size() << " kept release(s) in "
            << layout.releases().string() << "\n";
  for (const auto& release : list) {
    std::cout << (release["live"].get<bool>() ? "* " : "  ") << release["name"].get<std::string>()
              << "  " << release["commit"].get<std::string>().substr(0, 12) << "  "
              << release["created"].get<std::string>() << "  "
              << (release["outcome"].is_null() ? std::string("?")
                                               : release["outcome"].get<std::string>())
              << (release["live"].get<bool>() ? "  live" : "") << "\n";
  }
  if (!reachable) std::cout << "note: outcomes unknown: " << note << "\n";
  return 0;
}

}  // namespace

void add_releases(CLI::App& app, Context& context) {
  auto options = std::make_shared<ReleasesOptions>();
  CLI::App* command = app.add_subcommand(
      "releases", "The kept releases of a release-mode deployment, newest first");
  command->add_option("DEPLOYMENT", options->deployment, "the deployment (a key of deployments)")
      ->required();
  command->add_flag("--json", options->json, "print JSON (docs/deployer.md lists the keys)");
  command->callback([&context, options] {
    context.action = [&context, options] { return run_releases(context, *options); };
  });
}

}  // namespace deployctl
