// github_outbox.hpp: sending one GitHub outbox item (common/github_deployment.hpp) for the drain
// (outbox.hpp): the deployment created when its key has no id yet (the id then recorded durably
// next to the outbox before anything else), then the status posted.
//
// Answers: 2xx is done; 5xx, 408, 429 and no answer at all (GitHub unreachable, a timeout) are
// retried by the drain with back-off, the item kept; any other answer (401 a bad token, 404 no such
// repository or deployment, 409 a merge conflict, 422 a refused body) will not get better by
// asking again: the item is dropped and the answer logged. A status whose deployment was never
// created (its creation refused) is dropped too. The token goes only into the Authorization
// header: never into a log line, an error or the outbox.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/stop.hpp"

namespace deployer {

struct Attempt {
  enum class Outcome { delivered, retry, dropped };
  Outcome outcome = Outcome::retry;
  std::string problem;  ///< why it was not delivered ("HTTP 502", "connect: ...")
  unsigned status = 0;  ///< the last HTTP status, 0 without an answer
};

/// True when `item` is a GitHub outbox item ({"github": {...}} with its fields well typed).
bool is_github_item(const nlohmann::json& item);

/// Sends it; `outbox` is the deployment's outbox folder (for the id records).
boost::asio::awaitable<Attempt> send_github_item(const common::Config& config,
                                                 const std::filesystem::path& outbox,
                                                 const nlohmann::json& item,
                                                 common::StopSignal& stop);

}  // namespace deployer
