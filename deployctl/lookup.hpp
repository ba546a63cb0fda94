// lookup.hpp: what several subcommands need: the configuration, a deployment named on the
// command line, the state directory's layout, and a check of an entry name given as an argument.
// Nothing here writes anything.
#pragma once

#include <string>

#include "common/config.hpp"
#include "deployctl/commands.hpp"
#include "queue-layout/layout.hpp"

namespace deployctl {

/// The configuration --config (or $DEPLOYER_CONFIG, or config/deployer.json) names. Throws
/// common::ConfigError ("<file>: <key>: <what>").
common::Config load(const Context& context);

/// The deployment called `name`. Throws Failure "no deployment named 'x' in <file> (known: a, b)".
const common::Deployment& find_deployment(const common::Config& config, const std::string& name);

/// The state directory's folders (pure path arithmetic).
queue_layout::Layout layout_of(const common::Config& config);

/// Accepts "<20 digits>-<id>.json" and the same without ".json" (as `ls` or a log name shows
/// it); returns the canonical entry name. Throws UsageError naming the argument otherwise.
std::string entry_argument(const std::string& value, const std::string& what);

/// The user asking, for replay entries and payloads: $SUDO_USER, $USER, or the passwd name of
/// the effective uid; "deployctl" when none is known.
std::string requesting_user();

}  // namespace deployctl
