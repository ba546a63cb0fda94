// rollback_entry.cpp: see rollback_entry.hpp.
#include "common/rollback_entry.hpp"

#include <chrono>
#include <stdexcept>

#include "common/entry.hpp"
#include "common/timefmt.hpp"
#include "common/validate.hpp"

namespace common {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

bool valid_rollback_target(std::string_view to) {
  if (to.size() >= 7 && to.size() <= 64) {
    bool hex = true;
    for (char c : to) hex = hex && is_hex(c);
    if (hex) return true;
  }
  // A release name: 20261206T012345.678Z-<hex>.
  if (to.size() < 28 || to.size() > 85) return false;
  for (std::size_t i = 0; i < to.size(); ++i) {
    const char c = to[i];
    const bool ok = i < 20 ? ((c >= '0' && c <= '9') || c == 'T' || c == '.' || c == 'Z')
                           : (i == 20 ? c == '-' : is_hex(c));
    if (!ok) return false;
  }
  return true;
}

std::string write_rollback_entry(std::string_view repository, const std::optional<std::string>& to,
                                 std::string_view requested_by) {
  if (auto check = check_repository(repository); !check.ok()) {
    throw std::invalid_argument("repository: " + check.error().message);
  }
  if (to && !valid_rollback_target(*to)) {
    throw std::invalid_argument("to: must be a release name or a commit id (7 to 64 hex digits)");
  }
  nlohmann::json payload = {
      {"repository", {{"full_name", repository}}},
      {"sender", {{"login", requested_by}}},
  };
  if (to) payload["to"] = *to;
  EntryMeta meta;
  meta.event = "rollback";
  meta.received_at = utc_timestamp_ns(std::chrono::system_clock::now());
  return write_entry(meta, payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<RollbackRequest> parse_rollback(const nlohmann::json& payload) {
  RollbackRequest request;
  const auto repository = payload.find("repository");
  if (repository == payload.end() || !repository->is_object() ||
      !repository->contains("full_name") || !(*repository)["full_name"].is_string()) {
    return Error{"payload.repository.full_name: missing or not a string"};
  }
  request.repository = (*repository)["full_name"].get<std::string>();
  if (auto check = check_repository(request.repository); !check.ok()) {
    return Error{"payload.repository.full_name: " + check.error().message};
  }
  if (const auto to = payload.find("to"); to != payload.end() && !to->is_null()) {
    if (!to->is_string() || !valid_rollback_target(to->get_ref<const std::string&>())) {
      return Error{"payload.to: must be a release name or a commit id (7 to 64 hex digits)"};
    }
    request.to = to->get<std::string>();
  }
  if (const auto sender = payload.find("sender"); sender != payload.end() && sender->is_object()) {
    if (const auto login = sender->find("login"); login != sender->end() && login->is_string()) {
      request.requested_by = login->get<std::string>();
    }
  }
  return request;
}

}  // namespace common
