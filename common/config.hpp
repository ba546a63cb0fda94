// config.hpp: the one validated, immutable configuration every program runs from.
//
// load_config() reads the JSON file once at startup, checks every key (types, ranges, character
// sets, unknown keys) and returns a Config that is then passed by const&. Nothing is re-read
// later; a broken file stops the program before it touches the state directory. Every problem
// is a ConfigError whose message is "<file>: <key.path>: <what is wrong>", e.g.
//   config/deployer.json: deployments.durhack.steps[2].run: must be a non-empty array of strings
// Keys starting with "_" are comments and ignored; any other unknown key is an error (a typo
// must not silently fall back to a default). Relative paths resolve against the folder of the
// configuration file, so Config holds only absolute, lexically normal paths.
//
// Secrets are never stored here: a SecretSource says where a secret comes from (an environment
// variable or a file) and secrets.hpp reads it when needed. docs/configuration.md lists every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace common {

/// Every configuration problem. what() is "<file>: <key.path>: <what is wrong>".
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}
  ConfigError(const std::filesystem::path& file, std::string_view key_path, std::string_view what);
};

/// Where a secret comes from: {"env": "VAR"} or {"file": "/path"}; never the secret itself.
struct SecretSource {
  enum class Kind { env, file };
  Kind kind = Kind::env;
  std::string env;             ///< the variable's name, when kind == env
  std::filesystem::path file;  ///< absolute, when kind == file

  static SecretSource from_env(std::string name);
  static SecretSource from_file(std::filesystem::path path);

  /// "WEBHOOK_SECRET" or "file /etc/deployer/secret", for error messages.
  std::string describe() const;
  bool operator==(const SecretSource&) const = default;
};

struct ListenSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3400;  ///< 0 = an ephemeral port (tests)
};

struct GitHubSettings {
  std::string api_url = "https://api.github.com";  ///< http:// or https://, no trailing '/'
  SecretSource token = SecretSource::from_env("GITHUB_TOKEN");
  /// How often a push waiting for its checks asks GitHub again (wait_for_checks), 1-30 s.
  std::uint32_t checks_poll_s = 30;
  bool deployments = true;      ///< GitHub deployments and their statuses (docs/github.md)
  bool commit_statuses = true;  ///< the commit status deploy/<deployment>
};

struct ReceiverSettings {
  std::uint64_t body_limit_bytes = 26214400;
  std::uint32_t header_limit_bytes = 16384;
  std::uint32_t read_timeout_s = 10;
  std::uint32_t idle_timeout_s = 60;
  std::uint32_t max_connections = 512;
  /// Per source address, trusted proxies exempt; when the key is unset, load_config() makes it
  /// max_connections (no separate cap).
  std::uint32_t max_connections_per_ip = 512;
  std::uint64_t max_buffered_bytes = 64 << 20;  ///< request bodies held in memory at once
  std::uint32_t publish_threads = 8;
  std::vector<std::string> allow_cidrs;  ///< validated by parse_cidr (cidr.hpp); empty = allow all
  /// Peers whose X-Forwarded-For is believed (validated by parse_cidr); empty = the header is
  /// ignored and the socket's peer is the client.
  std::vector<std::string> trusted_proxies;

  std::chrono::seconds read_timeout() const { return std::chrono::seconds(read_timeout_s); }
  std::chrono::seconds idle_timeout() const { return std::chrono::seconds(idle_timeout_s); }
};

struct RouterSettings {
  /// How long an unparsable hand-dropped inbox file may stay before it is rejected.
  std::uint32_t settle_ms = 2000;
  /// The safety-net full rescan period.
  std::uint32_t rescan_s = 30;

  std::chrono::milliseconds settle() const { return std::chrono::milliseconds(settle_ms); }
  std::chrono::seconds rescan() const { return std::chrono::seconds(rescan_s); }
};

struct RetentionSettings {
  std::uint32_t done_max_age_days = 30;  ///< done/ entries older than this are pruned
  std::uint32_t done_max_count = 1000;   ///< and beyond this many, the oldest are pruned

  std::chrono::hours done_max_age() const { return std::chrono::hours(24) * done_max_age_days; }
};

/// A person who may log in to the dashboard.
struct DashboardUser {
  enum class Role { viewer, operator_ };
  std::string name;            ///< [A-Za-z0-9._@-], 1 to 64 characters, unique
  SecretSource password_hash;  ///< a `deployctl hash-password` hash (argon2id), never a password
  Role role = Role::viewer;    ///< viewers look; operators also retry and deploy again
};

/// The `dashboard` section (dashboard/, docs/dashboard.md).
struct DashboardSettings {
  ListenSettings listen{"127.0.0.1", 3401};
  /// "https://deploy.example.com" (no trailing '/'), how people reach it; empty = not set.
  /// https:// makes the session cookie Secure.
  std::string public_url;
  /// The bearer token of GET /metrics; /metrics answers 404 while it is not set.
  SecretSource metrics_token = SecretSource::from_env("DASHBOARD_METRICS_TOKEN");
  std::vector<DashboardUser> users;
};

struct Step {
  std::string name;              ///< valid_step_name, unique within its deployment
  std::vector<std::string> run;  ///< argv (non-empty, no empty or NUL-containing strings)
  bool shell = false;            ///< run == {"script"}, executed as /bin/sh -c script
  std::chrono::seconds timeout{900};
  std::vector<std::string> only_if_changed;  ///< globs; empty = always run
  std::map<std::string, std::string> env;
};

/// releases.reuse[i]: a folder carried over from the live release when none of the
/// `unless_changed` files differ between the live release and the new commit.
struct ReuseRule {
  std::string path;                         ///< relative to the release, release_relative_path
  std::vector<std::string> unless_changed;  ///< globs over repository paths, non-empty
};

/// "releases": release mode (docs/deployer.md). Absent = deploy in place in `path`.
struct ReleaseSettings {
  std::uint32_t keep = 5;           ///< releases kept after a success (the live one and the one
                                    ///< before it are kept whatever this says)
  std::vector<std::string> shared;  ///< paths linked from path/shared/ into every release
  std::vector<ReuseRule> reuse;
};

/// How a URL is polled until it is healthy: `successes` consecutive good answers, one every
/// `interval`, within `timeout` (preflight and health_check share these rules).
struct PollSettings {
  std::chrono::seconds timeout{30};
  std::chrono::milliseconds interval{250};
  std::uint32_t successes = 1;
};

/// "preflight": the new release started once on a free loopback port before anything live
/// changes. `step` holds run/shell/env/timeout_s (named "preflight") and runs like a step.
struct Preflight {
  Step step;
  std::string port_env;    ///< valid_env_name: the variable that carries the port
  std::string path = "/";  ///< polled as http://127.0.0.1:<port><path>; starts with '/'
  PollSettings poll;       ///< poll.timeout == step.timeout
};

/// "health_check": polled after the activate steps.
struct HealthCheck {
  std::string url;                         ///< http://host[:port]/path
  unsigned expect_status = 200;            ///< 100-599
  std::optional<std::string> expect_body;  ///< the body must contain it; ${DEPLOY_SHA} expanded
  PollSettings poll;
};

/// "retry": automatic retries of runs that failed for a transient reason (docs/deployer.md
/// "Automatic retries"). Absent = never retried automatically.
struct RetrySettings {
  std::uint32_t attempts = 3;    ///< retries after the first run, 1-10
  std::uint32_t backoff_s = 30;  ///< the wait before the first retry; doubled for each next one
  std::vector<int> exit_codes;   ///< step exit codes that mean "try again" (1-255)
};

/// "wait_for_checks": a webhook push deploys only once its commit's checks passed
/// (docs/github.md "Deploy after CI passes").
struct CheckWait {
  bool all = false;                    ///< "all": every check run and status context reported
  std::vector<std::string> names;      ///< else these check run names or status contexts
  std::chrono::seconds timeout{3600};  ///< wait_for_checks_timeout_s
};

/// hosts[i]: a host the deployment runs on, and the variables it gets there only.
struct HostTarget {
  std::string name;                        ///< valid_host_name (hosts.hpp)
  std::map<std::string, std::string> env;  ///< added to the deployment's env on that host
  bool operator==(const HostTarget&) const = default;
};

/// "rollout": how a new release reaches a deployment's hosts in release mode, switching in
/// turn (deployer/rollout.hpp, docs/hosts.md "Rolling switch").
struct RolloutSettings {
  enum class OnHostDown { wait, skip };
  std::uint32_t max_parallel = 1;      ///< hosts switching at once, 1-1000
  std::uint32_t host_timeout_s = 600;  ///< how long a host that is down is waited for, 1-86400
  OnHostDown on_host_down = OnHostDown::wait;
};

struct Deployment {
  std::string name;            ///< valid_deployment_name
  std::string repository;      ///< valid_repository, "owner/name"
  std::string branch;          ///< valid_branch
  std::filesystem::path path;  ///< the working tree, absolute; ${DEPLOY_HOST} substituted
  bool enabled = true;
  /// The hosts it runs on, in the configuration's order, never empty: without the key, only the
  /// host of the program that loaded the configuration (Config::host).
  std::vector<HostTarget> hosts;
  bool hosts_set = false;  ///< whether the configuration has the key
  RolloutSettings rollout;
  /// A git remote name, URL or path to fetch from. Never starts with '-'; a value starting with
  /// "./" or "../" is resolved against the configuration file's folder.
  std::string remote = "origin";
  bool coalesce = true;    ///< only the newest of several waiting pushes is deployed
  bool tags = false;       ///< route tag pushes (refs/tags/...) too
  bool deletions = false;  ///< route branch deletions too
  /// Path filters of webhook pushes (docs/deployer.md "Path filters"), globs as only_if_changed:
  /// deployed only when a changed path not matching `ignore_paths` matches `paths` (any, when
  /// `paths` is empty). Both empty: no filter.
  std::vector<std::string> paths;
  std::vector<std::string> ignore_paths;
  std::optional<RetrySettings> retry;
  std::optional<CheckWait> wait_for_checks;
  /// A user name: every step, git call, preflight and activate step runs as that user through
  /// sudo and deploy-step (docs/operations.md). Empty: as the deployer's own user.
  std::string run_as;
  /// With this host's hosts[i].env added (it wins over the deployment's own).
  std::map<std::string, std::string> env;
  std::vector<Step> steps;
  /// Release mode; preflight, activate and health_check require it.
  std::optional<ReleaseSettings> releases;
  /// Its strings and health_check.url have ${NAME} of `env` (and ${DEPLOY_HOST}) substituted.
  std::optional<Preflight> preflight;
  std::vector<Step> activate;  ///< run in path/current after the switch; names unique with steps
  std::optional<HealthCheck> health_check;
  std::string environment;      ///< GitHub deployments' environment; default: the name
  std::string environment_url;  ///< "" = none; else http(s)://...
  /// Secrets a delivery naming this repository must be signed with (every deployment of the
  /// repository contributes); empty = the default secrets.webhook.
  std::vector<SecretSource> webhook_secrets;
  /// "nginx": the site file `site` (a path in the repository) installed as the nginx site `name`
  /// through deploy-privileged at activation (deployer/site.hpp).
  struct NginxSite {
    std::string site;
    std::string name;
  };
  std::optional<NginxSite> nginx;
  /// "certificates": domains whose certificate deploy-privileged obtains or renews before the
  /// nginx site is installed.
  std::vector<std::string> certificates;

  /// Whether `host` is one of `hosts`.
  bool runs_on(std::string_view host) const;
};

/// "notify[i]": where deploy outcomes are announced (docs/notifications.md).
struct Notification {
  enum class Type { slack, discord, webhook };
  std::string name;  ///< [A-Za-z0-9_-]{1,100}, unique; `deployctl notify-test NAME`
  Type type = Type::webhook;
  SecretSource url;                    ///< the endpoint URL is a secret (Slack and Discord's are)
  std::optional<SecretSource> secret;  ///< HMAC key, type webhook only (required there)
  std::vector<std::string> on;  ///< outcomes: failed, rolled_back, succeeded, waiting, recovered
  std::vector<std::string> deployments;  ///< empty = every deployment
};

struct Config {
  std::filesystem::path file;  ///< the configuration file, absolute
  std::string instance;
  /// This machine's name (valid_host_name): --host, else $DEPLOY_HOST, else the key "host", else
  /// the system's host name (common/hosts.hpp).
  std::string host;
  std::string host_from;  ///< where `host` came from: "--host", "DEPLOY_HOST", "host", "system"
  std::filesystem::path state_dir;  ///< absolute; ${DEPLOY_HOST} substituted
  ListenSettings listen;
  bool allow_root = false;
  std::vector<SecretSource> webhook_secrets{SecretSource::from_env("WEBHOOK_SECRET")};
  SecretSource database_url = SecretSource::from_env("DATABASE_URL");
  GitHubSettings github;
  ReceiverSettings receiver;
  RouterSettings router;
  RetentionSettings retention;
  DashboardSettings dashboard;
  std::map<std::string, Deployment> deployments;  ///< at least one
  /// "privileged_command": the argv prefix that runs deploy-privileged (deployer/site.hpp).
  std::vector<std::string> privileged_command{"/usr/bin/sudo", "-n",
                                              "/usr/local/sbin/deploy-privileged"};
  std::vector<Notification> notify;

  /// The deployment called `name`; throws ConfigError ("no deployment named ...") otherwise.
  const Deployment& deployment(std::string_view name) const;
};

/// $DEPLOYER_CONFIG when set and non-empty, else "config/deployer.json".
std::filesystem::path default_config_path();

/// What the command line adds to the file.
struct LoadOptions {
  std::string host;  ///< --host NAME; empty: not given
};

/// Reads, parses and validates `file`. Throws ConfigError.
Config load_config(const std::filesystem::path& file, const LoadOptions& options = {});

/// Validates configuration text as if it had been read from `file` (relative paths resolve
/// against file's folder; `file` itself is not read). Throws ConfigError.
Config parse_config(std::string_view text, const std::filesystem::path& file,
                    const LoadOptions& options = {});

/// The configuration as JSON for `deployctl check-config`: every key with its effective value,
/// secret sources shown as {"env": ...} / {"file": ...}, never a secret's value.
nlohmann::json to_json_masked(const Config& config);

}  // namespace common
