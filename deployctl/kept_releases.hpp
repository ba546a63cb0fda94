// kept_releases.hpp: the kept releases of a release-mode deployment, newest first, as
// `deployctl releases` prints them and the dashboard's deployment page shows them.
//
// The folders are the truth about what is kept (a complete release holds REVISION) and what is
// live (`current`); the ledger adds each release's outcome. When the ledger cannot be used the
// list is still complete, with no outcomes and a note. Reads only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace deployctl {

struct KeptRelease {
  std::string name;    ///< the folder's name under releases/
  std::string commit;  ///< its REVISION
  std::string created;
  std::optional<std::string> outcome;  ///< from the ledger; absent when unknown
  bool live = false;
};

struct KeptReleases {
  std::optional<std::string> live;    ///< the release `current` names
  std::vector<KeptRelease> releases;  ///< newest first
  bool ledger_reachable = false;
  std::string ledger_note;  ///< why the outcomes are unknown
};

/// Throws Failure when the deployment is not in release mode or its folders cannot be read.
KeptReleases kept_releases(const common::Config& config, const common::Deployment& deployment);

}  // namespace deployctl
