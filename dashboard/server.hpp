// server.hpp: the dashboard's HTTP server (Boost.Beast, C++20 coroutines) behind a Beast-free API.
//
// run() listens on dashboard.listen (loopback by default) and serves HTTP/1.1 with keep-alive on
// one event-loop thread; each request is answered by App::handle() on a small thread pool, so a
// slow ledger or a password check (about 0.1 s of argon2id) never stalls other connections.
// Limits: 16 KiB of headers, 64 KiB of body, 10 s to send a request, 60 s idle keep-alive, 256
// connections. A response with a LogStream becomes a Server-Sent Events stream: the run's new
// log lines every 0.5 s (each event's id is the byte offset after it, so a reconnecting
// EventSource resumes where it stopped), a comment every 15 s to notice a client that went away,
// and a final "end" event with the outcome; a stream lasts at most an hour (the browser then
// reconnects). SIGINT/SIGTERM close every connection and return 0. SIGHUP calls `reload` on the
// event-loop thread; connections and sessions stay open.
#pragma once

#include <functional>

#include "common/config.hpp"
#include "common/reload.hpp"
#include "dashboard/app.hpp"

namespace dashboard {

/// Serves `app` until SIGINT or SIGTERM. Throws when the address cannot be bound.
int serve(const common::Config& config, App& app, std::function<void()> reload = {});

/// Builds the App (users, metrics) from the configuration and serves it (main's body). With
/// `reload`, SIGHUP reads the configuration again: accepted, it applies to the next requests
/// (users, deployments, secrets, public_url); refused, one error line and nothing changes.
int run(const common::Config& config, common::ConfigReload* reload = nullptr);

/// The dashboard's check of a reloaded configuration (common/reload.hpp): "" when it can be
/// taken in place; why not otherwise (listen changed, a user's password_hash unusable).
std::string reload_refusal(const common::Config& current, const common::Config& next);

}  // namespace dashboard
