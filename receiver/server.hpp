// server.hpp: the receiver's HTTP server (Boost.Beast, C++20 coroutines), behind a Beast-free API.
//
// run() listens on listen.host:listen.port and serves HTTP/1.1 with keep-alive on one event-loop
// thread. Each connection is one coroutine: wait for a request (idle_timeout_s between requests),
// read it (read_timeout_s, header_limit_bytes -> 431, body_limit_bytes -> 413 without reading
// the body), decide with handle_request(), publish accepted deliveries into inbox/ on a pool of
// receiver.publish_threads threads (the event loop never waits for the disk, and concurrent
// requests overlap their fsyncs), and only when the entry is durable write the 202.
// Admission happens at accept, before a byte is read: a peer outside receiver.allow_cidrs (that
// is not a trusted proxy) gets a short 403; beyond receiver.max_connections_per_ip (proxies
// exempt) or receiver.max_connections, the longest-idle keep-alive connection is closed to make
// room, and only when there is none the newcomer gets an immediate 503. Behind a trusted proxy
// the allowlist applies right after the header; a body that would take the bodies held in memory
// past receiver.max_buffered_bytes gets 503 with Retry-After before it is read.
//
// SIGHUP reloads the configuration file (common/reload.hpp): the secrets, the allowlist, the
// trusted proxies and the receiver's limits of the new file apply to every request that starts
// afterwards; a request in progress finishes under the configuration it started with, and no
// connection is closed. Refused, with one error line and nothing changed: a file that does not
// load, a secret that cannot be read, a change of state_dir, listen or receiver.publish_threads
// (those need a restart).
//
// SIGINT and SIGTERM (PM2 stops with SIGINT) stop the listener and close idle connections; a
// request already being read, published or answered is finished; then run() returns 0. A crash
// (kill -9) at any moment acknowledges nothing that is not durable: the 202 is written only after
// publish returned, and publish leaves at most a dot-temporary that the next start removes.
#pragma once

#include <string>

#include "common/config.hpp"
#include "common/reload.hpp"

namespace receiver {

/// Why the receiver cannot take `next` in place of `current` on SIGHUP, or "" (see above).
std::string reload_refusal(const common::Config& current, const common::Config& next);

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight and returns 0; with a
/// `reload`, SIGHUP reloads the configuration as above. Throws (one line, naming the variable,
/// folder or address at fault) when it cannot start: no webhook secret, inbox/ cannot be
/// created, the address cannot be bound.
int run(const common::Config& config, common::ConfigReload* reload = nullptr);

}  // namespace receiver
