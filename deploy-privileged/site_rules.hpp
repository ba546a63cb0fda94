// site_rules.hpp: the strict shapes of what a caller may name, and the check of a site's nginx
// configuration before root's nginx loads it.
//
// A site name is a file name in nginx's conf_dir: [A-Za-z0-9][A-Za-z0-9._-]* ending in ".conf",
// at most 128 bytes. A domain is a lowercase DNS name: dot-separated labels of [a-z0-9-], no label
// starting or ending with '-', at most 253 bytes, at least two labels.
//
// Why the configuration is read at all: nginx's master runs as root and opens, at load time,
// whatever files a configuration names. A site file that could say `include /etc/shadow`,
// `error_log /etc/cron.d/x`, `client_body_temp_path /etc/sudoers.d` (nginx chowns such folders
// to its worker user) or load code (`perl_require`, `js_import`) would be root for whoever writes
// it. check_site_config refuses the directives that make the master open, create or execute a
// file (a deny list, documented in docs/operations.md), except logs under /var/log/nginx/ and the
// deployment's own certificates under the policy's certbot live folder.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace privileged {

bool valid_site_name(std::string_view name);
bool valid_domain(std::string_view name);

/// The first reason `text` may not be installed, or nullopt when it may. `domains` are the
/// deployment's domains, `live_dir` certbot's live folder: ssl_certificate(_key) may name
/// `<live_dir>/<domain>/<file>` for those domains only.
std::optional<std::string> check_site_config(std::string_view text,
                                             const std::vector<std::string>& domains,
                                             const std::filesystem::path& live_dir);

}  // namespace privileged
