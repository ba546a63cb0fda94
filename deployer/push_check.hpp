// push_check.hpp: is an entry's text something this deployment can deploy? Pure: no I/O.
//
// The deployer takes only an entry that parses (common::parse_entry), is a push (event "push"),
// names this deployment's repository (compared ignoring case) and has a commit to deploy (not a
// deletion). Anything else is set aside with the error's message as its reason. Entries may be
// dropped by hand and hold any bytes, and a parser's message quotes the bytes it stopped at, so
// the message is always made printable (common/printable.hpp: valid UTF-8, no NUL, no control
// characters) before it is returned: the reason then goes into the ledger (PostgreSQL refuses
// text that is not UTF-8 or holds NUL), the logs and the failure report alike, and one entry
// can never stop the deployer. fuzz/fuzz_intake.cpp checks this on arbitrary bytes.
#pragma once

#include <string_view>

#include "common/config.hpp"
#include "common/entry.hpp"
#include "common/result.hpp"

namespace deployer {

/// An entry that can be deployed.
struct CheckedPush {
  common::Entry entry;
  common::Push push;
};

/// The checks above on an entry's bytes.
common::Result<CheckedPush> check_entry_text(std::string_view text,
                                             const common::Deployment& deployment);

}  // namespace deployer
