// handler.hpp: what to answer to a request. Pure: no I/O, no clock, no logging.
//
// handle_request() applies, in this order, the checks of POST /github-webhook:
//   404 unknown path, 405 wrong method (with Allow),
//   403 the client address (X-Forwarded-For only from a trusted proxy) outside allow_cidrs,
//   400 X-GitHub-Event / X-GitHub-Delivery / X-Hub-Signature-256 / X-GitHub-Hook-ID missing,
//       repeated or malformed (the delivery id is validated before it can reach a file name),
//   401 the signature matches no configured secret (constant-time compare),
//   415 a content type other than application/json or application/x-www-form-urlencoded,
//   400 a body (or form `payload` field) that is not one JSON object (depth-guarded),
//   401 the payload names a repository with its own webhook_secrets and the signature is not
//       one of them, or names any other repository (or none) and is not a default secret,
// and otherwise returns the entry bytes to publish. Authentication comes before the content
// checks, so an unauthenticated caller learns nothing about what would be accepted.
// Size limits (413, 431) are enforced while reading, before a Request exists; their responses
// are built here too so that every answer has the same JSON shape:
//   {"status": 400, "error": "<what is wrong>", "header": "X-GitHub-Delivery"}
//
// The session publishes Decision::entry into inbox/ and only after that is durable answers
// accepted(); a failed publish answers unavailable() (503) and acknowledges nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "receiver/message.hpp"
#include "receiver/settings.hpp"

namespace receiver {

inline constexpr std::string_view kWebhookPath = "/github-webhook";

struct Decision {
  Response response;                 ///< the answer, unless `entry` is set
  std::optional<std::string> entry;  ///< entry file bytes to publish before answering 202
  std::string delivery;              ///< the validated delivery id (empty if none), for logs
  std::string event;                 ///< the validated event name (empty if none), for logs
};

/// Decides the answer to a complete request (see the order above).
Decision handle_request(const Request& request, const Settings& settings);

/// The 403 for a source outside receiver.allow_cidrs, or nullopt when it may post. The client
/// is the peer, or behind a trusted proxy the address X-Forwarded-For names (address.hpp).
std::optional<Response> refuse_source(const Settings& settings, std::string_view peer,
                                      std::optional<std::string_view> forwarded_for);

/// 202: the entry `entry_name` is durable in inbox/.
Response accepted(std::string_view entry_name, std::string_view delivery);
/// 503: the entry could not be stored; `why` is the system's message ("No space left on device").
Response unavailable(std::string_view why);
/// 413 (the connection is closed: the unread body cannot be skipped safely).
Response too_large(std::uint64_t limit);
/// 431 (closes the connection).
Response header_too_large(std::uint32_t limit);
/// 400 for a request Beast could not parse (closes the connection).
Response malformed_http(std::string_view why);
/// 503 for a connection beyond receiver.max_connections (closes it).
Response too_many_connections();
/// 503 for a connection beyond receiver.max_connections_per_ip from `address` (closes it).
Response too_many_connections_from(std::string_view address);
/// 503 with Retry-After for a body that would pass receiver.max_buffered_bytes (closes it).
Response too_busy(unsigned retry_after_s);

}  // namespace receiver
