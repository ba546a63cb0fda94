// outbox.cpp: see outbox.hpp.
#include "common/outbox.hpp"

#include <charconv>
#include <stdexcept>

#include "common/small_file.hpp"
#include "queue-layout/layout.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/publish.hpp"

namespace common {

std::filesystem::path outbox_dir(const Config& config, const std::string& deployment) {
  return queue_layout::Layout(config.state_dir).outbox(deployment);
}

std::string next_outbox_name(std::string_view uniquifier) {
  // One clock per process: names from this process never go backwards.
  static queue_layout::NameClock clock;
  return clock.next(uniquifier);
}

std::error_code publish_outbox_item(const Config& config, const std::string& deployment,
                                    const std::string& name, const nlohmann::json& item) {
  const auto dir = outbox_dir(config, deployment);
  if (auto ec = queue_layout::ensure_dir(dir)) return ec;
  // replace: text from step output or a commit message may hold invalid UTF-8.
  return queue_layout::publish(
      dir, name, item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::filesystem::path github_ids_dir(const std::filesystem::path& outbox) {
  return outbox / "github-ids";
}

std::optional<std::int64_t> read_github_id(const std::filesystem::path& outbox,
                                           const std::string& key) {
  if (!queue_layout::is_publish_name(key)) return std::nullopt;
  auto text = read_small_file(github_ids_dir(outbox) / key, 64, "64 bytes");
  if (!text.ok()) return std::nullopt;
  std::int64_t id = 0;
  const auto& s = *text;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || id <= 0) return std::nullopt;
  return id;
}

std::error_code store_github_id(const std::filesystem::path& outbox, const std::string& key,
                                std::int64_t id) {
  if (!queue_layout::is_publish_name(key)) return std::make_error_code(std::errc::invalid_argument);
  const auto dir = github_ids_dir(outbox);
  if (auto ec = queue_layout::ensure_dir(dir)) return ec;
  // Durable before the outbox file that created it is removed: a restart must find the id, or
  // it would create a second GitHub deployment for the same deploy.
  auto ec = queue_layout::publish(dir, key, std::to_string(id) + "\n");
  if (ec == std::errc::file_exists) return {};
  return ec;
}

std::size_t prune_github_ids(const std::filesystem::path& outbox, std::chrono::seconds age) {
  const auto cutoff = std::filesystem::file_time_type::clock::now() - age;
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(github_ids_dir(outbox), ec)) {
    std::error_code item_ec;
    const auto when = file.last_write_time(item_ec);
    if (item_ec || when >= cutoff) continue;
    if (std::filesystem::remove(file.path(), item_ec)) ++removed;
  }
  return removed;
}

}  // namespace common
