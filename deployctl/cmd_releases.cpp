// cmd_releases.cpp: `deployctl releases DEPLOYMENT [--json]`: the kept releases of a
// release-mode deployment, newest first: name, commit, created, outcome and which one is live
// (gathered by kept_releases.hpp, which the dashboard shares). When the ledger cannot be used the
// list is still printed, with outcome null and a note (as `deployctl status`). Reads only.
//
// JSON: {"deployment": "demo", "root": "/var/www/demo", "live": "<name>" | null,
//        "releases": [{"name", "commit", "created", "outcome", "live"}],
//        "database": {"reachable": bool, "note": "..."}}
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/release_layout.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/kept_releases.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

struct ReleasesOptions {
  std::string deployment;
  bool json = false;
};

int run_releases(const Context& context, const ReleasesOptions& options) {
  const common::Config config = load(context);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  const KeptReleases kept = kept_releases(config, deployment);
  const common::ReleaseLayout layout(deployment.path);
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& release : kept.releases) {
      list.push_back({{"name", release.name},
                      {"commit", release.commit},
                      {"created", release.created},
                      {"outcome", release.outcome ? nlohmann::json(*release.outcome)
                                                  : nlohmann::json(nullptr)},
                      {"live", release.live}});
    }
    nlohmann::json out = {
        {"deployment", deployment.name},
        {"root", deployment.path.string()},
        {"live", kept.live ? nlohmann::json(*kept.live) : nlohmann::json(nullptr)},
        {"releases", list},
        {"database", {{"reachable", kept.ledger_reachable}, {"note", kept.ledger_note}}}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << deployment.name << ": " << kept.releases.size() << " kept release(s) in "
            << layout.releases().string() << "\n";
  for (const auto& release : kept.releases) {
    std::cout << (release.live ? "* " : "  ") << release.name << "  "
              << release.commit.substr(0, 12) << "  " << release.created << "  "
              << release.outcome.value_or("?") << (release.live ? "  live" : "") << "\n";
  }
  if (!kept.ledger_reachable) std::cout << "note: outcomes unknown: " << kept.ledger_note << "\n";
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
