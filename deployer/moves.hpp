// moves.hpp: moving an entry between the deployment's folders, insisting until it is done.
//
// A move is queue-layout's move_entry (link, fsync, unlink, fsync: the entry is in at least one
// folder at every instant). A move that fails for a passing reason (EIO, ENOSPC while fsyncing)
// is retried with capped back-off instead of being given up: giving up would leave the entry in
// active/, and the next start would deploy it again. One log line when retrying starts.
//
// A different file already holding the name in the target folder is resolved only when it has
// the same bytes (an operator copied an entry back with cp): the copy in the source folder is
// then removed, since the target holds the same entry. Any other conflict is thrown as
// std::runtime_error naming both paths: an operator must look.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <string>

#include "deployer/context.hpp"
#include "deployer/failure_report.hpp"

namespace deployer {

/// Moves `name` from `from` to `to` (see above). Throws Stopped if stop is requested while
/// retrying (the entry is then in `from`, `to` or both, and the next start finishes the move).
boost::asio::awaitable<void> move_durably(Context& context, const std::filesystem::path& from,
                                          const std::filesystem::path& to, const std::string& name);

/// Publishes the failure report of an entry (failure_report.hpp), retrying like move_durably
/// until it is durable. Throws Stopped if stop is requested while retrying.
boost::asio::awaitable<void> publish_failure_durably(Context& context, const FailureReport& report);

}  // namespace deployer
