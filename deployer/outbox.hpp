// outbox.hpp: durable delivery of the deployer's outgoing requests: notifications
// (docs/notifications.md) and GitHub deployment statuses (docs/github.md), one mechanism for both.
//
// The outbox is state_dir/outbox/<deployment>/ (common/outbox.hpp), one file per request, named
// like a queue entry ("<epoch ns>-<uniquifier>.json", so byte order is enqueue order) and written
// with queue-layout's publish: once queued, a request survives a crash. A notification file holds
// {"notification": NAME, "body": "<the exact bytes to POST>"}; a GitHub file the item of
// common/github_deployment.hpp. Secrets (URLs, HMAC keys, the token) are read only when sending,
// never written to the outbox.
//
// drain_outbox runs beside the deploy loop on the deployer's io_context. Each notification, and
// GitHub as a whole, is a channel whose files are sent strictly in order: a file is removed after
// its delivery (then the folder fsynced); one that failed stops its channel for a capped
// exponential back-off (1 s doubling to 60 s) and is tried again, so an endpoint that is down for
// an hour is tried about once a minute and gets its messages, in order, within a minute of coming
// back; the other channels are not held up. GitHub answers that will not get better (a 4xx other
// than 408/429, see github_outbox.hpp) drop that one file, logged. Delivery is at least once: a
// crash between the answer and the removal sends that request again at the next start. A file
// whose notification is no longer configured stays (logged once) until a person removes it.
// Nothing here ever fails or waits for a deploy.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "common/config.hpp"
#include "common/notification.hpp"
#include "common/stop.hpp"

namespace deployer {

/// Publishes one outbox file per configured notification that wants `message` (its outcome and
/// deployment). Returns how many were written. Never throws: a file that cannot be written (a
/// full disk) is logged and that message is lost, because a deploy must not wait for it.
std::size_t enqueue_notifications(const common::Config& config,
                                  const common::NotificationMessage& message);

/// The drain loop for `deployment`'s outbox (see above) until stop is requested.
boost::asio::awaitable<void> drain_outbox(const common::Config& config, std::string deployment,
                                          common::StopSignal& stop);

}  // namespace deployer
