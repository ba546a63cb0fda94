// entry.cpp: writing and reading the entry file's envelope.
#include "common/entry.hpp"

#include <chrono>
#include <stdexcept>

#include "common/json_parse.hpp"
#include "common/timefmt.hpp"
#include "common/validate.hpp"

namespace common {
namespace {

std::string json_string(std::string_view text) {
  // `replace` turns invalid UTF-8 into U+FFFD instead of throwing: an entry is always written.
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void require(const Result<void>& check, std::string_view field) {
  if (!check.ok()) {
    throw std::invalid_argument("entry field \"" + std::string(field) + "\" " +
                                check.error().message);
  }
}

Result<void> fail(std::string message) {
  return Error{std::move(message)};
}

// An optional string member: absent or null -> nullopt; otherwise it must pass `check`.
Result<void> optional_field(const nlohmann::json& object, const char* key,
                            Result<void> (*check)(std::string_view),
                            std::optional<std::string>& out) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) return fail(std::string("invalid \"") + key + "\": must be a string");
  const auto& text = it->get_ref<const std::string&>();
  if (auto valid = check(text); !valid.ok()) {
    return fail(std::string("invalid \"") + key + "\": " + valid.error().message);
  }
  out = text;
  return {};
}

}  // namespace

std::string write_entry(const EntryMeta& meta, std::string_view payload_json) {
  require(check_event_name(meta.event), "event");
  if (meta.id) require(check_delivery_id(*meta.id), "id");
  if (meta.received_at) require(check_timestamp(*meta.received_at), "received_at");
  if (meta.hook_id) require(check_hook_id(*meta.hook_id), "hook_id");

  std::string out;
  out.reserve(payload_json.size() + 256);
  out += '{';
  if (meta.id) out += "\"id\":" + json_string(*meta.id) + ",";
  out += "\"event\":" + json_string(meta.event) + ",";
  if (meta.received_at) out += "\"received_at\":" + json_string(*meta.received_at) + ",";
  if (meta.hook_id) out += "\"hook_id\":" + json_string(*meta.hook_id) + ",";
  // The body exactly as received: re-serialising could change what GitHub signed.
  out += "\"payload\":";
  out += payload_json;
  out += "}\n";
  return out;
}

Result<Entry> parse_entry(std::string_view text) {
  auto parsed = parse_json(text, JsonParseOptions{max_entry_depth, false});
  if (!parsed.ok()) return Error{"not JSON: " + parsed.error().message};
  auto& document = parsed.value();
  if (!document.is_object()) return Error{"not a JSON object"};

  Entry entry;
  const auto event = document.find("event");
  if (event == document.end()) return Error{"missing \"event\""};
  if (!event->is_string()) return Error{"invalid \"event\": must be a string"};
  if (auto valid = check_event_name(event->get_ref<const std::string&>()); !valid.ok()) {
    return Error{"invalid \"event\": " + valid.error().message};
  }
  entry.meta.event = event->get<std::string>();

  if (auto r = optional_field(document, "id", check_delivery_id, entry.meta.id); !r.ok()) {
    return r.error();
  }
  if (auto r = optional_field(document, "received_at", check_timestamp, entry.meta.received_at);
      !r.ok()) {
    return r.error();
  }
  if (auto r = optional_field(document, "hook_id", check_hook_id, entry.meta.hook_id); !r.ok()) {
    return r.error();
  }

  const auto payload = document.find("payload");
  if (payload == document.end()) return Error{"missing \"payload\""};
  if (!payload->is_object()) return Error{"invalid \"payload\": must be a JSON object"};
  entry.payload = std::move(*payload);
  return entry;
}

std::string write_replay_entry(std::string_view repository, std::string_view ref,
                               std::string_view sha, std::string_view requested_by) {
  require(check_repository(repository), "repository");
  require(check_ref(ref), "ref");
  require(check_sha(sha), "sha");
  nlohmann::json payload = {
      {"ref", ref},
      {"after", sha},
      {"repository", {{"full_name", repository}}},
      {"replay", true},
      {"sender", {{"login", requested_by}}},
  };
  EntryMeta meta;
  meta.event = "push";
  meta.received_at = utc_timestamp_ns(std::chrono::system_clock::now());
  return write_entry(meta, payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace common
