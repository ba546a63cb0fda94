// notify_outbox.hpp: durable delivery of notifications (docs/notifications.md).
//
// The outbox is state_dir/outbox/<deployment>/, one file per (message, notification), named like
// a queue entry ("<epoch ns>-<notification name>.json", so byte order is enqueue order) and
// written with queue-layout's publish (O_EXCL temporary, fsync, rename without replacing, fsync of
// the folder): once enqueue_notifications returns, the message survives a crash. Each file holds
// {"notification": NAME, "body": "<the exact bytes to POST>"}; secrets (URL, HMAC key) are read
// only when sending, never written to the outbox.
//
// drain_outbox runs beside the deploy loop on the deployer's io_context: it sends the files in
// order, removes each one after a 2xx answer (then fsyncs the folder), and keeps one that failed
// for a later attempt, with a capped exponential back-off per notification (1 s doubling to
// 60 s), so an endpoint that is down for an hour is tried about once a minute and gets its
// messages within a minute of coming back; the other notifications are not held up. Delivery is
// at least once: a crash between the 2xx and the removal sends that message again at the next
// start. A file whose notification is no longer configured stays (logged once) until a person
// removes it. Nothing here ever fails or waits for a deploy.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "common/config.hpp"
#include "common/notification.hpp"
#include "common/stop.hpp"

namespace deployer {

/// state_dir/outbox/<deployment>.
std::filesystem::path outbox_dir(const common::Config& config, const std::string& deployment);

/// Publishes one outbox file per configured notification that wants `message` (its outcome and
/// deployment). Returns how many were written. Never throws: a file that cannot be written (a
/// full disk) is logged and that message is lost, because a deploy must not wait for it.
std::size_t enqueue_notifications(const common::Config& config,
                                  const common::NotificationMessage& message);

/// The drain loop for `deployment`'s outbox (see above) until stop is requested.
boost::asio::awaitable<void> drain_outbox(const common::Config& config, std::string deployment,
                                          common::StopSignal& stop);

}  // namespace deployer
