// outbox.hpp: the outbox, state_dir/outbox/<deployment>/, the one durable queue of outgoing HTTP
// requests (notifications and GitHub deployment statuses; docs/notifications.md, docs/github.md).
//
// Producers (the deployer, and the router for a GitHub deployment's "queued") publish one JSON
// file per request with queue-layout's publish (O_EXCL temporary, fsync, rename without
// replacing, fsync of the folder): once publish_outbox_item returns 0 the request survives a
// crash. The deployer of that deployment sends them (deployer/outbox.hpp) and removes a file only
// once it is delivered or refused for good.
//
// GitHub's deployment ids live next to the outbox, in state_dir/outbox/<deployment>/github-ids/:
// one file per deploy (named by its entry, the file holding the decimal id), published the same
// way, so a status posted after a restart reaches the deployment created before it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "common/config.hpp"

namespace common {

/// state_dir/outbox/<deployment>; throws std::invalid_argument for an unsafe deployment name.
std::filesystem::path outbox_dir(const Config& config, const std::string& deployment);

/// A fresh outbox file name, "<epoch ns>-<uniquifier>.json": names from one process never go
/// backwards, so byte order is the order this process queued them in.
std::string next_outbox_name(std::string_view uniquifier);

/// Publishes `item` as outbox_dir/name (creating the folder first). EEXIST (std::errc::file_exists)
/// when `name` is there already: nothing is replaced.
std::error_code publish_outbox_item(const Config& config, const std::string& deployment,
                                    const std::string& name, const nlohmann::json& item);

/// The folder of GitHub deployment ids of `outbox` (an outbox_dir).
std::filesystem::path github_ids_dir(const std::filesystem::path& outbox);

/// The GitHub deployment id recorded for `key` (an entry name), or nullopt.
std::optional<std::int64_t> read_github_id(const std::filesystem::path& outbox,
                                           const std::string& key);

/// Records `id` for `key` durably (publish). An existing record is kept (EEXIST is success).
std::error_code store_github_id(const std::filesystem::path& outbox, const std::string& key,
                                std::int64_t id);

/// Removes the id records last changed more than `age` ago (their deploys are long finished).
/// Returns how many were removed.
std::size_t prune_github_ids(const std::filesystem::path& outbox, std::chrono::seconds age);

}  // namespace common
