// kept_releases.cpp: kept_releases (kept_releases.hpp).
#include "deployctl/kept_releases.hpp"

#include <map>
#include <system_error>

#include "common/hosts.hpp"
#include "common/ledger/ledger.hpp"
#include "common/release_layout.hpp"
#include "common/secrets.hpp"
#include "deployctl/commands.hpp"

namespace deployctl {

KeptReleases kept_releases(const common::Config& config, const common::Deployment& deployment) {
  if (!deployment.releases) {
    throw Failure("deployment " + deployment.name + " is not in release mode (no \"releases\")");
  }
  const common::ReleaseLayout layout(deployment.path);
  KeptReleases kept;
  std::error_code ec;
  kept.live = layout.live(ec);
  if (ec) throw Failure(layout.current().string() + ": " + ec.message());
  const auto complete = layout.complete(ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw Failure("cannot list " + layout.releases().string() + ": " + ec.message());
  }
  std::map<std::string, std::string> outcomes;
  try {
    ledger::Ledger ledger(common::database_url(config));
    ledger.require_schema();
    for (const auto& row : ledger.releases(common::ledger_name(deployment, config.host))) {
      outcomes[row.name] = std::string(ledger::to_string(row.outcome));
    }
    kept.ledger_reachable = true;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    kept.ledger_note = what.substr(0, what.find('\n'));
  }
  for (auto it = complete.rbegin(); it != complete.rend(); ++it) {
    KeptRelease release;
    release.name = *it;
    release.commit = layout.revision(*it);
    release.created = common::release_created(*it);
    if (const auto found = outcomes.find(*it); found != outcomes.end()) {
      release.outcome = found->second;
    }
    release.live = kept.live && *kept.live == *it;
    kept.releases.push_back(std::move(release));
  }
  return kept;
}

}  // namespace deployctl
