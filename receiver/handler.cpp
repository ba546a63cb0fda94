// handler.cpp: the receiver's decisions, request in, response out (see handler.hpp).
#include "receiver/handler.hpp"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/entry.hpp"
#include "common/signature.hpp"
#include "common/timefmt.hpp"
#include "common/validate.hpp"
#include "receiver/address.hpp"
#include "receiver/payload.hpp"

namespace receiver {
namespace {

Response json_response(unsigned status, const nlohmann::json& body, bool close = false) {
  Response r;
  r.status = status;
  // `replace`: an error message may quote untrusted bytes (nlohmann's parse errors show the last
  // token read), and dump() would otherwise throw on invalid UTF-8.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.close = close;
  return r;
}

Response error_response(unsigned status, std::string_view error, std::string_view header = {}) {
  nlohmann::json body = {{"status", status}, {"error", error}};
  if (!header.empty()) body["header"] = header;
  return json_response(status, body);
}

Decision refuse(unsigned status, std::string_view error, std::string_view header = {}) {
  Decision d;
  d.response = error_response(status, error, header);
  return d;
}

// One required, single-valued header that must pass `check`. On failure, the 400 to answer.
template <typename Check>
std::optional<Response> require_header(const Request& request, std::string_view lower_name,
                                       std::string_view display_name, Check check) {
  auto count = request.count(lower_name);
  if (count == 0) return error_response(400, "missing header", display_name);
  if (count > 1) return error_response(400, "header given more than once", display_name);
  auto result = check(*request.header(lower_name));
  if (!result.ok()) {
    return error_response(400, "malformed header: " + result.error().message, display_name);
  }
  return std::nullopt;
}

Decision handle_health(const Request& request, const Settings& settings) {
  if (request.method != "GET") {
    Decision d = refuse(405, "method not allowed");
    d.response.allow = "GET";
    return d;
  }
  Decision d;
  d.response = json_response(
      200, {{"status", "ok"}, {"service", "receiver"}, {"instance", settings.instance}});
  return d;
}

Decision handle_webhook(const Request& request, const Settings& settings) {
  if (request.method != "POST") {
    Decision d = refuse(405, "method not allowed");
    d.response.allow = "POST";
    return d;
  }

  // 403 first: a source outside the allowlist gets nothing more specific. (The server already
  // refused such peers at accept or right after the header; this keeps the handler whole.)
  auto forwarded = request.joined("x-forwarded-for");
  if (auto refused =
          refuse_source(settings, request.peer,
                        forwarded ? std::optional<std::string_view>(*forwarded) : std::nullopt)) {
    return {std::move(*refused), std::nullopt, {}, {}};
  }

  if (auto bad =
          require_header(request, "x-github-event", "X-GitHub-Event", common::check_event_name)) {
    return {std::move(*bad), std::nullopt, {}, {}};
  }
  // Validated here, before the id is ever used in a file name (the entry's uniquifier).
  if (auto bad = require_header(request, "x-github-delivery", "X-GitHub-Delivery",
                                common::check_delivery_id)) {
    return {std::move(*bad), std::nullopt, {}, {}};
  }
  Decision d;
  d.event = std::string(*request.header("x-github-event"));
  d.delivery = std::string(*request.header("x-github-delivery"));

  std::optional<std::string> hook_id;
  if (request.count("x-github-hook-id") > 0) {
    if (auto bad = require_header(request, "x-github-hook-id", "X-GitHub-Hook-ID",
                                  common::check_hook_id)) {
      d.response = std::move(*bad);
      return d;
    }
    hook_id = std::string(*request.header("x-github-hook-id"));
  }

  auto signatures = request.count("x-hub-signature-256");
  if (signatures != 1) {
    d.response =
        error_response(400, signatures == 0 ? "missing header" : "header given more than once",
                       "X-Hub-Signature-256");
    return d;
  }
  // Every secret set is checked (each compare in constant time), whatever the payload names:
  // which repository the delivery is about is only known after parsing, which an unauthenticated
  // caller must not get to see the outcome of.
  const auto signature = *request.header("x-hub-signature-256");
  const auto default_check = common::check_signature(signature, request.body, settings.secrets);
  if (default_check == common::SignatureCheck::malformed) {
    d.response = error_response(400, "malformed header: expected sha256= and 64 hex digits",
                                "X-Hub-Signature-256");
    return d;
  }
  std::vector<bool> own_match;
  for (const auto& own : settings.repository_secrets) {
    own_match.push_back(common::check_signature(signature, request.body, own.secrets) ==
                        common::SignatureCheck::ok);
  }
  const bool default_match = default_check == common::SignatureCheck::ok;
  if (!default_match && std::find(own_match.begin(), own_match.end(), true) == own_match.end()) {
    d.response = error_response(401, "signature does not match", "X-Hub-Signature-256");
    return d;
  }

  // Only now, authenticated, look at what was sent.
  auto content_type = request.header("content-type");
  auto kind = content_type ? classify_content_type(*content_type) : ContentType::other;
  std::string form_decoded;
  std::string_view payload = request.body;
  if (kind == ContentType::other) {
    d.response = error_response(
        415, "content type must be application/json or application/x-www-form-urlencoded",
        "Content-Type");
    return d;
  }
  if (kind == ContentType::form) {
    auto decoded = form_payload(request.body);
    if (!decoded.ok()) {
      d.response = error_response(400, decoded.error().message);
      return d;
    }
    form_decoded = std::move(*decoded);
    payload = form_decoded;
  }
  std::optional<std::string> repository;
  if (auto valid = check_json_object(payload, &repository); !valid.ok()) {
    d.response = error_response(400, "payload is " + valid.error().message);
    return d;
  }
  // A repository with its own secrets accepts only those; every other delivery only the default
  // secrets. So one repository's secret cannot deploy another repository.
  bool signed_for_it = default_match;
  for (std::size_t i = 0; i < settings.repository_secrets.size(); ++i) {
    if (repository &&
        common::same_repository(settings.repository_secrets[i].repository, *repository)) {
      signed_for_it = own_match[i];
      break;
    }
  }
  if (!signed_for_it) {
    d.response = error_response(401, "signature does not match", "X-Hub-Signature-256");
    return d;
  }

  common::EntryMeta meta;
  meta.id = d.delivery;
  meta.event = d.event;
  meta.received_at = common::utc_timestamp_ns(request.received);
  meta.hook_id = hook_id;
  d.entry = common::write_entry(meta, payload);
  return d;
}

}  // namespace

std::optional<Response> refuse_source(const Settings& settings, std::string_view peer,
                                      std::optional<std::string_view> forwarded_for) {
  if (settings.allow_cidrs.empty()) return std::nullopt;
  auto client = client_address(peer, forwarded_for, settings.trusted_proxies);
  if (!client.ok()) return error_response(403, client.error().message, "X-Forwarded-For");
  if (!allowed(*client, settings.allow_cidrs)) {
    return error_response(403, "source address " + to_string(*client) + " is not allowed");
  }
  return std::nullopt;
}

Decision handle_request(const Request& request, const Settings& settings) {
  auto path = request.path();
  if (path == kWebhookPath) return handle_webhook(request, settings);
  if (path == "/") return handle_health(request, settings);
  return refuse(404, "not found");
}

Response accepted(std::string_view entry_name, std::string_view delivery) {
  return json_response(
      202,
      {{"status", 202}, {"result", "accepted"}, {"entry", entry_name}, {"delivery", delivery}});
}

Response unavailable(std::string_view why) {
  return json_response(
      503, {{"status", 503}, {"error", "could not store the delivery: " + std::string(why)}});
}

Response too_large(std::uint64_t limit) {
  return json_response(
      413, {{"status", 413}, {"error", "body larger than " + std::to_string(limit) + " bytes"}},
      true);
}

Response header_too_large(std::uint32_t limit) {
  return json_response(
      431, {{"status", 431}, {"error", "header larger than " + std::to_string(limit) + " bytes"}},
      true);
}

Response malformed_http(std::string_view why) {
  return json_response(
      400, {{"status", 400}, {"error", "malformed HTTP request: " + std::string(why)}}, true);
}

Response too_many_connections() {
  return json_response(503, {{"status", 503}, {"error", "too many connections"}}, true);
}

Response too_many_connections_from(std::string_view address) {
  return json_response(
      503, {{"status", 503}, {"error", "too many connections from " + std::string(address)}}, true);
}

Response too_busy(unsigned retry_after_s) {
  auto response = json_response(
      503, {{"status", 503}, {"error", "too many request bodies in memory; retry later"}}, true);
  response.retry_after_s = retry_after_s;
  return response;
}

}  // namespace receiver
