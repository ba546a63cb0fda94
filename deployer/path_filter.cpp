// path_filter.cpp: see path_filter.hpp.
#include "deployer/path_filter.hpp"

#include <algorithm>
#include <cctype>

#include "deployer/glob.hpp"

namespace deployer {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A few paths for the reason, so the ledger says what changed without growing without bound.
std::string sample(const std::vector<std::string>& paths) {
  constexpr std::size_t kShown = 5;
  std::string out;
  for (std::size_t i = 0; i < paths.size() && i < kShown; ++i) {
    out += (i == 0 ? "" : ", ") + paths[i];
  }
  if (paths.size() > kShown) out += ", ... (" + std::to_string(paths.size()) + " in all)";
  return out;
}

}  // namespace

bool has_skip_marker(std::string_view message) {
  const std::string text = lower(message);
  return text.find("[skip deploy]") != std::string::npos ||
         text.find("[deploy skip]") != std::string::npos;
}

std::optional<std::string> filtered_out(const common::Deployment& deployment,
                                        const std::vector<std::string>& changed,
                                        const std::string& since) {
  if (deployment.paths.empty() && deployment.ignore_paths.empty()) return std::nullopt;
  std::vector<std::string> counted;
  for (const auto& path : changed) {
    if (!any_match(deployment.ignore_paths, {path})) counted.push_back(path);
  }
  const std::string what = std::to_string(changed.size()) + " path(s) changed since " + since;
  if (counted.empty()) {
    if (changed.empty()) return "no path changed since " + since;
    return "only ignore_paths changed (" + what + ": " + sample(changed) + ")";
  }
  if (!deployment.paths.empty() && !any_match(deployment.paths, counted)) {
    return "no changed path matches paths (" + what + ": " + sample(counted) + ")";
  }
  return std::nullopt;
}

boost::asio::awaitable<std::optional<std::string>> skip_reason(
    Git& git, const common::Deployment& deployment, const common::Push& push,
    const std::optional<std::string>& deployed_sha) {
  if (has_skip_marker(co_await git.commit_message(push.after))) {
    co_return "[skip deploy] in the message of commit " + push.after.substr(0, 7);
  }
  if (!deployed_sha || (deployment.paths.empty() && deployment.ignore_paths.empty())) {
    co_return std::nullopt;
  }
  const auto changed = co_await git.changed_files(*deployed_sha, push.after);
  co_return filtered_out(deployment, changed, deployed_sha->substr(0, 7));
}

}  // namespace deployer
