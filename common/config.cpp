// config.cpp: load_config and parse_config, the table of keys, defaults and ranges.
//
// Each section below reads its keys through ConfigNode (config_reader.hpp), which fails with
// "<file>: <key.path>: <problem>". The defaults here and in config.hpp's member initialisers are
// the same values; docs/configuration.md documents them.
#include "common/config.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <set>

#include "common/cidr.hpp"
#include "common/config_reader.hpp"
#include "common/hosts.hpp"
#include "common/json_parse.hpp"
#include "common/small_file.hpp"
#include "common/validate.hpp"

namespace common {

using config_detail::ConfigContext;
using config_detail::ConfigNode;

namespace {

constexpr std::size_t max_config_bytes = 1 << 20;

void check_with(const ConfigNode& node, const Result<void>& check) {
  if (!check.ok()) node.fail(check.error().message);
}

std::vector<SecretSource> read_secret_list(const ConfigNode& list) {
  if (!list.json().is_array() || list.json().empty()) {
    list.fail("must be a non-empty array of sources ({\"env\": ...} or {\"file\": ...})");
  }
  std::vector<SecretSource> out;
  for (std::size_t i = 0; i < list.json().size(); ++i) out.push_back(list.element(i).as_source());
  return out;
}

std::vector<SecretSource> read_secrets(const ConfigNode& root, Config& config) {
  if (!root.has("secrets")) return config.webhook_secrets;
  const auto secrets = root.child("secrets");
  secrets.require_object();
  secrets.check_keys({"webhook"});
  if (!secrets.has("webhook")) return config.webhook_secrets;
  return read_secret_list(secrets.child("webhook"));
}

std::vector<std::string> read_cidrs(const ConfigNode& node, std::string_view key) {
  std::vector<std::string> out;
  if (!node.has(key)) return out;
  const auto list = node.child(key);
  if (!list.json().is_array()) list.fail("must be an array of CIDR strings");
  for (std::size_t i = 0; i < list.json().size(); ++i) {
    const auto item = list.element(i);
    auto text = item.as_nonempty_string();
    auto cidr = parse_cidr(text);
    if (!cidr.ok()) item.fail(cidr.error().message);
    out.push_back(std::move(text));
  }
  return out;
}

void read_listen(const ConfigNode& root, ListenSettings& listen) {
  if (!root.has("listen")) return;
  const auto node = root.child("listen");
  node.require_object();
  node.check_keys({"host", "port"});
  if (node.has("host")) {
    const auto host = node.child("host");
    listen.host = host.as_nonempty_string();
    for (char c : listen.host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == ':' || c == '_';
      if (!ok) host.fail("must be an IP address or a host name");
    }
  }
  listen.port = static_cast<std::uint16_t>(node.integer("port", listen.port, 0, 65535));
}

// The host of an URL whose authority starts at `at`: "[::1]" -> "::1", "host:8080" -> "host".
std::string url_host(std::string_view url, std::size_t at) {
  auto authority = url.substr(at, url.find_first_of("/?#", at) - at);
  if (auto user = authority.rfind('@'); user != std::string_view::npos) {
    authority.remove_prefix(user + 1);
  }
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    return std::string(authority.substr(1, close == std::string_view::npos ? 0 : close - 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  const auto address = parse_ip(host);
  if (!address) return false;
  const auto plain = address->unmapped();
  if (!plain.v6) return plain.bytes[0] == 127;
  static const std::array<std::uint8_t, 16> loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
  return plain.bytes == loopback;
}

void read_github(const ConfigNode& root, GitHubSettings& github) {
  if (!root.has("github")) return;
  const auto node = root.child("github");
  node.require_object();
  node.check_keys({"api_url", "token", "checks_poll_s", "deployments", "commit_statuses"});
  github.deployments = node.boolean("deployments", true);
  github.commit_statuses = node.boolean("commit_statuses", true);
  if (node.has("api_url")) {
    const auto url = node.child("api_url");
    auto text = url.as_nonempty_string();
    if (!text.starts_with("https://") && !text.starts_with("http://")) {
      url.fail("must start with https:// or http://");
    }
    for (char c : text) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) url.fail("must not contain spaces");
    }
    const auto host_start = text.find("://") + 3;
    if (host_start >= text.size() || text[host_start] == '/') url.fail("has no host");
    // The token travels in every request's Authorization header: plain HTTP only where nobody
    // can listen in between (a local test server or a local TLS-terminating proxy).
    if (text.starts_with("http://") && !is_loopback_host(url_host(text, host_start))) {
      url.fail(
          "http:// is allowed only for a loopback host (127.0.0.0/8, ::1, localhost); use "
          "https:// (the GitHub token would be sent in clear)");
    }
    while (text.ends_with('/')) text.pop_back();  // callers append "/repos/..."
    github.api_url = std::move(text);
  }
  if (node.has("token")) github.token = node.child("token").as_source();
  // At most 30 s: webhooks can be lost, and the poll is what notices checks then.
  github.checks_poll_s =
      static_cast<std::uint32_t>(node.integer("checks_poll_s", github.checks_poll_s, 1, 30));
}

void read_receiver(const ConfigNode& root, ReceiverSettings& receiver) {
  // No separate per-address cap unless one is set: behind a proxy every connection has the same
  // peer, and the slow-client and load tests come from one address too.
  receiver.max_connections_per_ip = receiver.max_connections;
  if (!root.has("receiver")) return;
  const auto node = root.child("receiver");
  node.require_object();
  if (node.has("trusted_proxy_hops")) {
    // Counting hops trusted X-Forwarded-For from any peer that connected directly.
    node.child("trusted_proxy_hops")
        .fail(
            "was replaced by receiver.trusted_proxies (the CIDRs of the proxies whose "
            "X-Forwarded-For is believed, e.g. [\"127.0.0.1/32\"] for a local nginx)");
  }
  node.check_keys({"body_limit_bytes", "header_limit_bytes", "read_timeout_s", "idle_timeout_s",
                   "max_connections", "max_connections_per_ip", "max_buffered_bytes",
                   "publish_threads", "allow_cidrs", "trusted_proxies"});
  auto u32 = [&](std::string_view key, std::uint32_t fallback, std::int64_t min, std::int64_t max) {
    return static_cast<std::uint32_t>(node.integer(key, fallback, min, max));
  };
  receiver.body_limit_bytes = static_cast<std::uint64_t>(
      node.integer("body_limit_bytes", static_cast<std::int64_t>(receiver.body_limit_bytes), 1,
                   std::int64_t{1} << 30));
  receiver.header_limit_bytes =
      u32("header_limit_bytes", receiver.header_limit_bytes, 1024, 1 << 20);
  receiver.read_timeout_s = u32("read_timeout_s", receiver.read_timeout_s, 1, 3600);
  receiver.idle_timeout_s = u32("idle_timeout_s", receiver.idle_timeout_s, 1, 86400);
  receiver.max_connections = u32("max_connections", receiver.max_connections, 1, 100000);
  receiver.publish_threads = u32("publish_threads", receiver.publish_threads, 1, 256);
  receiver.max_connections_per_ip =
      u32("max_connections_per_ip", receiver.max_connections, 1, 100000);
  receiver.max_buffered_bytes = static_cast<std::uint64_t>(
      node.integer("max_buffered_bytes", static_cast<std::int64_t>(receiver.max_buffered_bytes),
                   1 << 20, std::int64_t{1} << 40));
  receiver.allow_cidrs = read_cidrs(node, "allow_cidrs");
  receiver.trusted_proxies = read_cidrs(node, "trusted_proxies");
}

void read_router(const ConfigNode& root, RouterSettings& router) {
  if (!root.has("router")) return;
  const auto node = root.child("router");
  node.require_object();
  node.check_keys({"settle_ms", "rescan_s"});
  router.settle_ms =
      static_cast<std::uint32_t>(node.integer("settle_ms", router.settle_ms, 0, 3600000));
  router.rescan_s = static_cast<std::uint32_t>(node.integer("rescan_s", router.rescan_s, 1, 86400));
}

void read_retention(const ConfigNode& root, RetentionSettings& retention) {
  if (!root.has("retention")) return;
  const auto node = root.child("retention");
  node.require_object();
  node.check_keys({"done_max_age_days", "done_max_count"});
  retention.done_max_age_days = static_cast<std::uint32_t>(
      node.integer("done_max_age_days", retention.done_max_age_days, 0, 36500));
  retention.done_max_count = static_cast<std::uint32_t>(
      node.integer("done_max_count", retention.done_max_count, 0, 10000000));
}

void read_dashboard(const ConfigNode& root, DashboardSettings& dashboard) {
  if (!root.has("dashboard")) return;
  const auto node = root.child("dashboard");
  node.require_object();
  node.check_keys({"listen", "public_url", "metrics_token", "users"});
  read_listen(node, dashboard.listen);
  // null is "not set", as deployctl check-config shows it.
  if (node.has("public_url") && !node.child("public_url").json().is_null()) {
    const auto url = node.child("public_url");
    auto text = url.as_nonempty_string();
    if (!text.starts_with("https://") && !text.starts_with("http://")) {
      url.fail("must start with https:// or http://");
    }
    for (char c : text) {
      const bool bad = static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '"' || c == '<' ||
                       c == '>' || c == '\\';
      if (bad) url.fail("must be a plain URL (no spaces, quotes or angle brackets)");
    }
    while (text.ends_with('/')) text.pop_back();  // pages append "/runs/..."
    dashboard.public_url = std::move(text);
  }
  if (node.has("metrics_token")) dashboard.metrics_token = node.child("metrics_token").as_source();
  if (!node.has("users")) return;
  const auto users = node.child("users");
  if (!users.json().is_array()) users.fail("must be an array of users");
  std::set<std::string> names;
  for (std::size_t i = 0; i < users.json().size(); ++i) {
    const auto item = users.element(i);
    item.require_object();
    item.check_keys({"name", "password_hash", "role"});
    DashboardUser user;
    const auto name = item.child("name");
    user.name = name.as_nonempty_string();
    // Shown on every page and compared at login: a small character set, nothing to escape.
    for (char c : user.name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-' || c == '@';
      if (!ok || user.name.size() > 64) name.fail("must be 1 to 64 of [A-Za-z0-9._@-]");
    }
    if (!names.insert(user.name).second) name.fail("\"" + user.name + "\" appears twice");
    user.password_hash = item.child("password_hash").as_source();
    const auto role = item.child("role");
    const auto text = role.as_string();
    if (text == "viewer") {
      user.role = DashboardUser::Role::viewer;
    } else if (text == "operator") {
      user.role = DashboardUser::Role::operator_;
    } else {
      role.fail("must be \"viewer\" or \"operator\"");
    }
    dashboard.users.push_back(std::move(user));
  }
}

Step read_step(const ConfigNode& node) {
  node.require_object();
  node.check_keys({"name", "run", "shell", "timeout_s", "only_if_changed", "env"});
  Step step;
  const auto name = node.child("name");
  step.name = name.as_string();
  check_with(name, check_step_name(step.name));
  step.shell = node.boolean("shell", false);
  const auto run = node.child("run");
  step.run = run.as_string_array(false);
  if (step.shell && step.run.size() != 1) {
    run.fail("must be [\"script text\"] (exactly one string) when \"shell\" is true");
  }
  step.timeout = std::chrono::seconds(node.integer("timeout_s", 900, 1, 7 * 86400));
  if (node.has("only_if_changed")) {
    const auto globs = node.child("only_if_changed");
    step.only_if_changed = globs.as_string_array(false);
  }
  if (node.has("env")) step.env = node.child("env").as_env_map();
  return step;
}

std::string read_remote(const ConfigNode& node, const ConfigContext& context) {
  auto remote = node.as_nonempty_string();
  // git would read a leading '-' as an option (e.g. --upload-pack=...).
  if (remote.starts_with("-")) node.fail("must not start with '-'");
  for (char c : remote) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      node.fail("must not contain control characters");
    }
  }
  if (remote.starts_with("./") || remote.starts_with("../")) {
    return (context.base_dir / remote).lexically_normal().string();
  }
  return remote;
}

// A path inside a release (releases.shared, releases.reuse[].path): relative, without "." or
// ".." components or empty ones, so it can never name anything outside the release, and not
// REVISION, which the deployer writes itself.
void check_release_relative_path(const ConfigNode& node, const std::string& path) {
  if (path.starts_with("/")) node.fail("must be a path relative to the release");
  for (char c : path) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      node.fail("must not contain control characters");
    }
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto part = std::string_view(path).substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      node.fail("must not have empty, \".\" or \"..\" components");
    }
    start = end + 1;
  }
  if (path == "REVISION") node.fail("must not be REVISION (the deployer writes that file)");
}

ReleaseSettings read_releases(const ConfigNode& node) {
  node.require_object();
  node.check_keys({"keep", "shared", "reuse"});
  ReleaseSettings releases;
  releases.keep = static_cast<std::uint32_t>(node.integer("keep", releases.keep, 1, 1000));
  std::set<std::string> used;
  if (node.has("shared")) {
    const auto list = node.child("shared");
    releases.shared = list.as_string_array(true);
    for (std::size_t i = 0; i < releases.shared.size(); ++i) {
      check_release_relative_path(list.element(i), releases.shared[i]);
      if (!used.insert(releases.shared[i]).second) list.element(i).fail("is listed twice");
    }
  }
  if (node.has("reuse")) {
    const auto list = node.child("reuse");
    if (!list.json().is_array()) list.fail("must be an array of {\"path\", \"unless_changed\"}");
    for (std::size_t i = 0; i < list.json().size(); ++i) {
      const auto item = list.element(i);
      item.require_object();
      item.check_keys({"path", "unless_changed"});
      ReuseRule rule;
      const auto path = item.child("path");
      rule.path = path.as_nonempty_string();
      check_release_relative_path(path, rule.path);
      if (!used.insert(rule.path).second) {
        path.fail("is already listed in releases.shared or releases.reuse");
      }
      rule.unless_changed = item.child("unless_changed").as_string_array(false);
      releases.reuse.push_back(std::move(rule));
    }
  }
  return releases;
}

// interval_ms and successes; the timeout is read by the caller (its default differs).
void read_poll(const ConfigNode& node, PollSettings& poll) {
  poll.interval =
      std::chrono::milliseconds(node.integer("interval_ms", poll.interval.count(), 10, 60000));
  poll.successes = static_cast<std::uint32_t>(node.integer("successes", poll.successes, 1, 100));
}

Preflight read_preflight(const ConfigNode& node) {
  node.require_object();
  node.check_keys(
      {"run", "shell", "env", "port_env", "path", "timeout_s", "interval_ms", "successes"});
  Preflight preflight;
  preflight.step.name = "preflight";
  preflight.step.shell = node.boolean("shell", false);
  const auto run = node.child("run");
  preflight.step.run = run.as_string_array(false);
  if (preflight.step.shell && preflight.step.run.size() != 1) {
    run.fail("must be [\"script text\"] (exactly one string) when \"shell\" is true");
  }
  if (node.has("env")) preflight.step.env = node.child("env").as_env_map();
  const auto port_env = node.child("port_env");
  preflight.port_env = port_env.as_string();
  if (auto check = check_env_name(preflight.port_env); !check.ok()) {
    port_env.fail("is not a valid environment variable name: " + check.error().message);
  }
  if (node.has("path")) {
    const auto path = node.child("path");
    preflight.path = path.as_string();
    if (!preflight.path.starts_with("/")) path.fail("must start with '/'");
    for (char c : preflight.path) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '#') {
        path.fail("must not contain spaces, control characters or '#'");
      }
    }
  }
  preflight.poll.timeout = std::chrono::seconds(node.integer("timeout_s", 30, 1, 3600));
  preflight.step.timeout = preflight.poll.timeout;
  read_poll(node, preflight.poll);
  return preflight;
}

HealthCheck read_health_check(const ConfigNode& node) {
  node.require_object();
  node.check_keys({"url", "expect_status", "expect_body", "timeout_s", "interval_ms", "successes"});
  HealthCheck check;
  const auto url = node.child("url");
  check.url = url.as_nonempty_string();
  if (!check.url.starts_with("http://") && !check.url.starts_with("https://")) {
    url.fail("must start with http:// or https://");
  }
  for (char c : check.url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      url.fail("must not contain spaces or control characters");
    }
  }
  const auto host_start = check.url.find("://") + 3;
  if (host_start >= check.url.size() || check.url[host_start] == '/') url.fail("has no host");
  check.expect_status =
      static_cast<unsigned>(node.integer("expect_status", check.expect_status, 100, 599));
  if (node.has("expect_body")) check.expect_body = node.child("expect_body").as_nonempty_string();
  check.poll.timeout = std::chrono::seconds(node.integer("timeout_s", 30, 1, 3600));
  read_poll(node, check.poll);
  return check;
}

// steps and activate: arrays of steps whose names are unique across both (`names`).
std::vector<Step> read_steps(const ConfigNode& node, std::set<std::string>& names) {
  if (!node.json().is_array()) node.fail("must be an array of steps");
  std::vector<Step> steps;
  for (std::size_t i = 0; i < node.json().size(); ++i) {
    const auto item = node.element(i);
    auto step = read_step(item);
    if (!names.insert(step.name).second) {
      item.child("name").fail("\"" + step.name + "\" is already the name of an earlier step");
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

// A remote name ("origin") has neither '/' nor ':'; a URL or a path has one of them.
bool names_a_remote(const std::string& remote) {
  return remote.find('/') == std::string::npos && remote.find(':') == std::string::npos;
}

void read_release_mode(const ConfigNode& node, Deployment& deployment) {
  if (node.has("releases")) deployment.releases = read_releases(node.child("releases"));
  for (const char* key : {"preflight", "activate", "health_check"}) {
    if (node.has(key) && !deployment.releases) {
      node.child(key).fail("requires \"releases\" (release mode)");
    }
  }
  if (!deployment.releases) return;
  // A release is a checkout without a working tree of its own to hold remotes.
  if (!node.has("remote")) {
    ConfigNode(node.json(), node.path() + ".remote", node.context())
        .fail("is required when \"releases\" is set (a URL or a path)");
  }
  if (names_a_remote(deployment.remote)) {
    node.child("remote").fail(
        "must be a URL or a path when \"releases\" is set (there is no working tree whose "
        "remotes it could name)");
  }
  if (node.has("preflight")) deployment.preflight = read_preflight(node.child("preflight"));
  if (node.has("health_check")) {
    deployment.health_check = read_health_check(node.child("health_check"));
  }
}

CheckWait read_check_wait(const ConfigNode& node) {
  CheckWait wait;
  if (node.json().is_string()) {
    if (node.as_string() != "all") node.fail("must be \"all\" or an array of check names");
    wait.all = true;
    return wait;
  }
  if (!node.json().is_array()) node.fail("must be \"all\" or an array of check names");
  wait.names = node.as_string_array(false);
  return wait;
}

RetrySettings read_retry(const ConfigNode& node) {
  node.require_object();
  node.check_keys({"attempts", "backoff_s", "exit_codes"});
  RetrySettings retry;
  retry.attempts = static_cast<std::uint32_t>(node.integer("attempts", retry.attempts, 1, 10));
  retry.backoff_s = static_cast<std::uint32_t>(node.integer("backoff_s", retry.backoff_s, 1, 3600));
  if (node.has("exit_codes")) {
    const auto codes = node.child("exit_codes");
    if (!codes.json().is_array()) codes.fail("must be an array of exit codes (1-255)");
    for (std::size_t i = 0; i < codes.json().size(); ++i) {
      retry.exit_codes.push_back(static_cast<int>(codes.element(i).as_integer(1, 255)));
    }
  }
  return retry;
}

// "environment" and "environment_url": what GitHub deployments show (docs/github.md).
void read_environment(const ConfigNode& node, Deployment& deployment) {
  deployment.environment = deployment.name;
  if (node.has("environment")) {
    const auto environment = node.child("environment");
    deployment.environment = environment.as_nonempty_string();
    if (deployment.environment.size() > 255) environment.fail("must be at most 255 characters");
    for (char c : deployment.environment) {
      if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
        environment.fail("must not contain control characters");
      }
    }
  }
  if (node.has("environment_url")) {
    const auto url = node.child("environment_url");
    deployment.environment_url = url.as_nonempty_string();
    if (!deployment.environment_url.starts_with("https://") &&
        !deployment.environment_url.starts_with("http://")) {
      url.fail("must start with https:// or http://");
    }
    for (char c : deployment.environment_url) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) url.fail("must not contain spaces");
    }
  }
}

// A path that may hold ${DEPLOY_HOST} (state_dir, a deployment's path): substituted with this
// host's name before it is resolved, so several hosts can share one file (and one machine).
std::filesystem::path read_host_path(const ConfigNode& node, const std::string& host) {
  if (!node.json().is_string()) node.fail("must be a path (a string)");
  const nlohmann::json substituted =
      substitute(node.as_nonempty_string(), {{std::string(host_variable), host}});
  if (const auto left = first_variable(substituted.get_ref<const std::string&>())) {
    node.fail(*left + " is not substituted here (only ${DEPLOY_HOST} is)");
  }
  return ConfigNode(substituted, node.path(), node.context()).as_path();
}

// "hosts": names or {"name", "env"}; without the key, this host only (one machine, as before).
void read_hosts(const ConfigNode& node, Deployment& deployment, const std::string& host) {
  if (!node.has("hosts")) {
    deployment.hosts = {HostTarget{host, {}}};
    return;
  }
  deployment.hosts_set = true;
  const auto list = node.child("hosts");
  constexpr const char* shape =
      "must be a non-empty array of host names or {\"name\": ..., \"env\": {...}}";
  // Bounded: every host is a fan-out item per push and a folder per simulated host.
  if (!list.json().is_array() || list.json().empty()) list.fail(shape);
  if (list.json().size() > 64) list.fail("must list at most 64 hosts");
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.json().size(); ++i) {
    const auto item = list.element(i);
    HostTarget target;
    std::optional<ConfigNode> name_node;
    if (item.json().is_string()) {
      name_node = item;
    } else if (item.json().is_object()) {
      item.check_keys({"name", "env"});
      name_node = item.child("name");
      if (item.has("env")) target.env = item.child("env").as_env_map();
    } else {
      item.fail(shape);
    }
    target.name = name_node->as_string();
    check_with(*name_node, check_host_name(target.name));
    if (!names.insert(target.name).second) name_node->fail("is listed twice");
    deployment.hosts.push_back(std::move(target));
  }
  // This host's variables win over the deployment's own: they are what differs per host.
  for (const auto& target : deployment.hosts) {
    if (target.name != host) continue;
    for (const auto& [name, value] : target.env) deployment.env[name] = value;
  }
}

RolloutSettings read_rollout(const ConfigNode& node) {
  node.require_object();
  node.check_keys({"max_parallel", "host_timeout_s", "on_host_down"});
  RolloutSettings rollout;
  rollout.max_parallel =
      static_cast<std::uint32_t>(node.integer("max_parallel", rollout.max_parallel, 1, 1000));
  rollout.host_timeout_s =
      static_cast<std::uint32_t>(node.integer("host_timeout_s", rollout.host_timeout_s, 1, 86400));
  if (node.has("on_host_down")) {
    const auto down = node.child("on_host_down");
    const auto text = down.as_string();
    if (text == "wait") {
      rollout.on_host_down = RolloutSettings::OnHostDown::wait;
    } else if (text == "skip") {
      rollout.on_host_down = RolloutSettings::OnHostDown::skip;
    } else {
      down.fail("must be \"wait\" or \"skip\"");
    }
  }
  return rollout;
}

// ${NAME} of the deployment's environment on this host (and ${DEPLOY_HOST}) in health_check.url
// and the preflight's strings. Not preflight.port_env: its value is a free port picked at run
// time, which a preflight script reads from its own environment.
void substitute_host_values(const ConfigNode& node, Deployment& deployment,
                            const std::string& host) {
  auto values = deployment.env;
  values[std::string(host_variable)] = host;
  if (deployment.health_check) {
    auto& url = deployment.health_check->url;
    url = substitute(url, values);
    for (char c : url) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
        node.child("health_check")
            .child("url")
            .fail("must not contain spaces or control characters (after substituting ${...})");
      }
    }
  }
  if (deployment.preflight) {
    auto& preflight = *deployment.preflight;
    values.erase(preflight.port_env);
    for (auto& arg : preflight.step.run) arg = substitute(arg, values);
    for (auto& [name, value] : preflight.step.env) value = substitute(value, values);
    preflight.path = substitute(preflight.path, values);
    for (char c : preflight.path) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '#') {
        node.child("preflight")
            .child("path")
            .fail("must not contain spaces, control characters or '#' (after substituting ${...})");
      }
    }
  }
}

// A system user name as Debian's adduser accepts it by default; it reaches sudo's argv.
bool valid_user_name(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// The nginx site: a relative path inside the repository (no "..", no empty or dot component) and
// a site file name as deploy-privileged's policy names them.
bool valid_repo_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.size() > 1024) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

bool valid_site_file_name(const std::string& name) {
  if (name.size() < 6 || name.size() > 128 || !name.ends_with(".conf")) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

// A DNS name in lower case: labels of [a-z0-9-], not starting or ending with '-', at least two.
bool valid_domain_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0, labels = 0;
  while (start <= name.size()) {
    auto end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    const std::string label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    ++labels;
    start = end + 1;
  }
  return labels >= 2;
}

void read_site(const ConfigNode& node, Deployment& deployment) {
  if (node.has("nginx")) {
    const auto nginx = node.child("nginx");
    nginx.require_object();
    nginx.check_keys({"site", "name"});
    Deployment::NginxSite site;
    const auto path = nginx.child("site");
    site.site = path.as_string();
    if (!valid_repo_path(site.site)) {
      path.fail(
          "must be a relative path inside the repository (no \"..\", letters, digits, ., _, -)");
    }
    const auto name = nginx.child("name");
    site.name = name.as_string();
    if (!valid_site_file_name(site.name)) {
      name.fail("must be a site file name ending in .conf (letters, digits, ., _, -)");
    }
    deployment.nginx = site;
  }
  if (node.has("certificates")) {
    const auto list = node.child("certificates");
    deployment.certificates = list.as_string_array(false);
    for (std::size_t i = 0; i < deployment.certificates.size(); ++i) {
      if (!valid_domain_name(deployment.certificates[i])) {
        list.element(i).fail("is not a domain name (lower case, like api.example.com)");
      }
    }
  }
}

Deployment read_deployment(const ConfigNode& node, const std::string& name,
                           const std::string& host) {
  node.require_object();
  node.check_keys({"repository",
                   "branch",
                   "path",
                   "enabled",
                   "remote",
                   "coalesce",
                   "tags",
                   "deletions",
                   "env",
                   "steps",
                   "releases",
                   "preflight",
                   "activate",
                   "health_check",
                   "paths",
                   "ignore_paths",
                   "retry",
                   "wait_for_checks",
                   "wait_for_checks_timeout_s",
                   "environment",
                   "environment_url",
                   "webhook_secrets",
                   "run_as",
                   "hosts",
                   "rollout",
                   "nginx",
                   "certificates"});
  Deployment deployment;
  deployment.name = name;
  const auto repository = node.child("repository");
  deployment.repository = repository.as_string();
  check_with(repository, check_repository(deployment.repository));
  const auto branch = node.child("branch");
  deployment.branch = branch.as_string();
  check_with(branch, check_branch(deployment.branch));
  deployment.path = read_host_path(node.child("path"), host);
  deployment.enabled = node.boolean("enabled", true);
  if (node.has("remote")) deployment.remote = read_remote(node.child("remote"), node.context());
  deployment.coalesce = node.boolean("coalesce", true);
  deployment.tags = node.boolean("tags", false);
  deployment.deletions = node.boolean("deletions", false);
  if (node.has("paths")) deployment.paths = node.child("paths").as_string_array(false);
  if (node.has("ignore_paths")) {
    deployment.ignore_paths = node.child("ignore_paths").as_string_array(false);
  }
  if (node.has("retry")) deployment.retry = read_retry(node.child("retry"));
  if (node.has("wait_for_checks")) {
    deployment.wait_for_checks = read_check_wait(node.child("wait_for_checks"));
    deployment.wait_for_checks->timeout =
        std::chrono::seconds(node.integer("wait_for_checks_timeout_s", 3600, 1, 7 * 86400));
  } else if (node.has("wait_for_checks_timeout_s")) {
    node.child("wait_for_checks_timeout_s").fail("requires \"wait_for_checks\"");
  }
  if (node.has("run_as")) {
    const auto run_as = node.child("run_as");
    deployment.run_as = run_as.as_string();
    if (!valid_user_name(deployment.run_as)) {
      run_as.fail("is not a valid user name ([a-z_][a-z0-9_-]*, at most 32 characters)");
    }
  }
  if (node.has("env")) deployment.env = node.child("env").as_env_map();
  read_hosts(node, deployment, host);
  if (node.has("rollout")) deployment.rollout = read_rollout(node.child("rollout"));
  if (node.has("webhook_secrets")) {
    deployment.webhook_secrets = read_secret_list(node.child("webhook_secrets"));
  }
  std::set<std::string> names;
  deployment.steps = read_steps(node.child("steps"), names);
  read_release_mode(node, deployment);
  if (node.has("activate")) deployment.activate = read_steps(node.child("activate"), names);
  read_site(node, deployment);
  substitute_host_values(node, deployment, host);
  read_environment(node, deployment);
  return deployment;
}

void read_deployments(const ConfigNode& root, Config& config) {
  const auto node = root.child("deployments");
  node.require_object();
  for (const auto& [name, value] : node.json().items()) {
    if (name.starts_with("_")) continue;  // a comment
    const ConfigNode item(value, node.path() + "." + name, node.context());
    if (auto check = check_deployment_name(name); !check.ok()) {
      item.fail("is not a valid deployment name: " + check.error().message);
    }
    config.deployments.emplace(name, read_deployment(item, name, config.host));
  }
  if (config.deployments.empty()) node.fail("must define at least one deployment");
}

// "notify": after the deployments, whose names its "deployments" lists must use.
void read_notify(const ConfigNode& root, Config& config) {
  if (!root.has("notify")) return;
  const auto list = root.child("notify");
  if (!list.json().is_array()) list.fail("must be an array of notifications");
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.json().size(); ++i) {
    const auto item = list.element(i);
    item.require_object();
    item.check_keys({"name", "type", "url", "secret", "on", "deployments"});
    Notification notification;
    const auto name = item.child("name");
    notification.name = name.as_nonempty_string();
    // The name becomes part of outbox entry names.
    if (notification.name.size() > 100 ||
        notification.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789_-") != std::string::npos) {
      name.fail("must be 1-100 characters of A-Z a-z 0-9 _ -");
    }
    if (!names.insert(notification.name).second) name.fail("is already used by another entry");
    const auto type = item.child("type");
    const auto type_text = type.as_string();
    if (type_text == "slack") {
      notification.type = Notification::Type::slack;
    } else if (type_text == "discord") {
      notification.type = Notification::Type::discord;
    } else if (type_text == "webhook") {
      notification.type = Notification::Type::webhook;
    } else {
      type.fail("must be \"slack\", \"discord\" or \"webhook\"");
    }
    notification.url = item.child("url").as_source();
    if (notification.type == Notification::Type::webhook) {
      notification.secret = item.child("secret").as_source();
    } else if (item.has("secret")) {
      item.child("secret").fail("is only for type \"webhook\" (Slack and Discord sign nothing)");
    }
    const auto on = item.child("on");
    notification.on = on.as_string_array(false);
    for (std::size_t k = 0; k < notification.on.size(); ++k) {
      const auto& outcome = notification.on[k];
      if (outcome != "failed" && outcome != "rolled_back" && outcome != "succeeded" &&
          outcome != "waiting" && outcome != "recovered") {
        on.element(k).fail("must be one of failed, rolled_back, succeeded, waiting, recovered");
      }
    }
    if (item.has("deployments")) {
      const auto deployments = item.child("deployments");
      notification.deployments = deployments.as_string_array(false);
      for (std::size_t k = 0; k < notification.deployments.size(); ++k) {
        if (!config.deployments.contains(notification.deployments[k])) {
          deployments.element(k).fail("is not a deployment of this configuration");
        }
      }
    }
    config.notify.push_back(std::move(notification));
  }
}

}  // namespace

ConfigError::ConfigError(const std::filesystem::path& file, std::string_view key_path,
                         std::string_view what)
    : std::runtime_error(file.string() + ": " +
                         (key_path.empty() ? std::string() : std::string(key_path) + ": ") +
                         std::string(what)) {}

SecretSource SecretSource::from_env(std::string name) {
  SecretSource source;
  source.kind = Kind::env;
  source.env = std::move(name);
  return source;
}

SecretSource SecretSource::from_file(std::filesystem::path path) {
  SecretSource source;
  source.kind = Kind::file;
  source.file = std::move(path);
  return source;
}

std::string SecretSource::describe() const {
  return kind == Kind::env ? env : "file " + file.string();
}

bool Deployment::runs_on(std::string_view host) const {
  return std::any_of(hosts.begin(), hosts.end(),
                     [&](const HostTarget& target) { return target.name == host; });
}

const Deployment& Config::deployment(std::string_view name) const {
  const auto it = deployments.find(std::string(name));
  if (it == deployments.end()) {
    std::string known;
    for (const auto& [key, value] : deployments) known += (known.empty() ? "" : ", ") + key;
    throw ConfigError(file, "deployments",
                      "no deployment named \"" + std::string(name) + "\" (known: " + known + ")");
  }
  return it->second;
}

std::filesystem::path default_config_path() {
  const char* env = std::getenv("DEPLOYER_CONFIG");
  if (env != nullptr && *env != '\0') return env;
  return "config/deployer.json";
}

Config parse_config(std::string_view text, const std::filesystem::path& file,
                    const LoadOptions& options) {
  const auto absolute = std::filesystem::absolute(file).lexically_normal();
  const ConfigContext context{file, absolute.parent_path()};
  auto parsed = parse_json(text, JsonParseOptions{64, true});
  if (!parsed.ok()) throw ConfigError(file, "", "not valid JSON: " + parsed.error().message);

  const ConfigNode root(parsed.value(), "", context);
  if (!parsed.value().is_object()) root.fail("must be a JSON object");
  root.check_keys({"instance", "host", "state_dir", "listen", "allow_root", "secrets", "database",
                   "github", "receiver", "router", "retention", "dashboard", "deployments",
                   "notify", "privileged_command"});

  Config config;
  config.file = absolute;
  const auto instance = root.child("instance");
  config.instance = instance.as_nonempty_string();
  for (char c : config.instance) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      instance.fail("must not contain control characters");
    }
  }
  {
    std::string configured;
    if (root.has("host")) {
      configured = root.child("host").as_nonempty_string();
      check_with(root.child("host"), check_host_name(configured));
    }
    const char* env = std::getenv(std::string(host_variable).c_str());
    auto host =
        resolve_host(file, options.host, env != nullptr ? env : "", configured,
                     configured.empty() && options.host.empty() && (env == nullptr || *env == '\0')
                         ? system_host_name()
                         : "");
    config.host = std::move(host.name);
    config.host_from = std::move(host.from);
  }
  config.state_dir = read_host_path(root.child("state_dir"), config.host);
  read_listen(root, config.listen);
  config.allow_root = root.boolean("allow_root", false);
  if (root.has("privileged_command")) {
    const auto command = root.child("privileged_command");
    config.privileged_command = command.as_string_array(false);
    if (!config.privileged_command.front().starts_with("/")) {
      command.element(0).fail("must be an absolute path (it is run without a PATH lookup)");
    }
  }
  config.webhook_secrets = read_secrets(root, config);
  if (root.has("database")) {
    const auto database = root.child("database");
    database.require_object();
    database.check_keys({"url"});
    if (database.has("url")) config.database_url = database.child("url").as_source();
  }
  read_github(root, config.github);
  read_receiver(root, config.receiver);
  read_router(root, config.router);
  read_retention(root, config.retention);
  read_dashboard(root, config.dashboard);
  read_deployments(root, config);
  read_notify(root, config);
  return config;
}

Config load_config(const std::filesystem::path& file, const LoadOptions& options) {
  auto text = read_small_file(file, max_config_bytes, "1 MiB");
  if (!text.ok()) throw ConfigError(file, "", text.error().message);
  return parse_config(*text, file, options);
}

}  // namespace common
