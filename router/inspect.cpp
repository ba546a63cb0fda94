// inspect.cpp: see inspect.hpp.
#include "router/inspect.hpp"

#include <system_error>

#include "common/json_parse.hpp"
#include "common/validate.hpp"
#include "queue-layout/read.hpp"

namespace router {
namespace {

// Read errors that say nothing about the file: try again shortly instead of rejecting it.
bool transient(const std::error_code& ec) {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::not_enough_memory || ec == std::errc::interrupted ||
         ec == std::errc::resource_unavailable_try_again;
}

std::optional<std::string> string_member(const nlohmann::json& object, const char* key,
                                         bool (*valid)(std::string_view)) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const auto& value = it->get_ref<const std::string&>();
  if (!valid(value)) return std::nullopt;
  return value;
}

}  // namespace

common::EntryMeta salvage_meta(std::string_view text) {
  common::EntryMeta meta;
  auto parsed = common::parse_json(text, common::JsonParseOptions{common::max_entry_depth, false});
  if (!parsed.ok() || !parsed->is_object()) return meta;
  const auto& object = parsed.value();
  meta.id = string_member(object, "id", common::valid_delivery_id);
  meta.hook_id = string_member(object, "hook_id", common::valid_hook_id);
  meta.received_at = string_member(object, "received_at", common::valid_timestamp);
  meta.event = string_member(object, "event", common::valid_event_name).value_or("");
  return meta;
}

Inspection inspect(const std::filesystem::path& inbox, const std::string& name,
                   std::size_t max_bytes, SettleTracker& settle) {
  std::string text;
  const std::error_code read_error = queue_layout::read_entry(inbox, name, max_bytes, text);
  if (read_error == std::errc::no_such_file_or_directory) {
    settle.forget(name);
    return Gone{};
  }
  if (transient(read_error)) {
    return Waiting{std::chrono::steady_clock::now() + std::chrono::seconds(1),
                   "cannot be read now: " + queue_layout::describe(read_error)};
  }
  if (read_error) {
    // A symbolic link, FIFO, folder, oversized or unreadable file stays so however long we
    // wait: quarantined at once.
    settle.forget(name);
    return Bad{queue_layout::describe(read_error, max_bytes), {}};
  }

  std::string problem;
  auto parsed = common::parse_entry(text);
  std::optional<common::Push> push;
  if (!parsed.ok()) {
    problem = parsed.error().message;
  } else if (parsed->meta.event == "push") {
    auto p = common::parse_push(parsed->payload);
    if (p.ok()) {
      push = std::move(p.value());
    } else {
      problem = p.error().message;
    }
  }
  if (problem.empty()) {
    settle.forget(name);
    return Good{std::move(parsed.value()), std::move(push)};
  }

  // The modification time is read AFTER the content: if it is old now, nothing was written
  // since our read, so the text we judged is the file's final text. (Read before, a write
  // landing between the stat and the read could get a half-written file rejected.)
  std::chrono::system_clock::time_point mtime;
  const std::error_code stat_error = queue_layout::entry_mtime(inbox, name, mtime);
  if (stat_error == std::errc::no_such_file_or_directory) {
    settle.forget(name);
    return Gone{};
  }
  const auto now = std::chrono::system_clock::now();
  if (stat_error) mtime = now;  // unknown: count from now, so it still settles
  const auto steady_now = std::chrono::steady_clock::now();
  const auto settled = settle.settled_at(name, mtime, now, steady_now);
  if (settled > steady_now) return Waiting{settled, problem};

  settle.forget(name);
  return Bad{problem, parsed.ok() ? parsed->meta : salvage_meta(text)};
}

}  // namespace router
