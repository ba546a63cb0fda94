// config_masked.cpp: to_json_masked, the effective configuration for `deployctl check-config`.
//
// The output has the input's shape with every default filled in and every path absolute.
// Secret sources are printed as where they come from ({"env": ...} or {"file": ...}); this file
// never reads a secret, so it cannot leak one.
#include "common/config.hpp"

namespace common {
namespace {

nlohmann::json source_json(const SecretSource& source) {
  if (source.kind == SecretSource::Kind::env) return {{"env", source.env}};
  return {{"file", source.file.string()}};
}

nlohmann::json step_json(const Step& step) {
  nlohmann::json out = {
      {"name", step.name},   {"run", step.run},
      {"shell", step.shell}, {"timeout_s", step.timeout.count()},
      {"env", step.env},
  };
  if (!step.only_if_changed.empty()) out["only_if_changed"] = step.only_if_changed;
  return out;
}

nlohmann::json steps_json(const std::vector<Step>& steps) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& step : steps) out.push_back(step_json(step));
  return out;
}

void add_poll(nlohmann::json& out, const PollSettings& poll) {
  out["timeout_s"] = poll.timeout.count();
  out["interval_ms"] = poll.interval.count();
  out["successes"] = poll.successes;
}

// releases, preflight, activate, health_check: present only in release mode.
void add_release_mode(nlohmann::json& out, const Deployment& deployment) {
  if (!deployment.releases) return;
  nlohmann::json reuse = nlohmann::json::array();
  for (const auto& rule : deployment.releases->reuse) {
    reuse.push_back({{"path", rule.path}, {"unless_changed", rule.unless_changed}});
  }
  out["releases"] = {{"keep", deployment.releases->keep},
                     {"shared", deployment.releases->shared},
                     {"reuse", std::move(reuse)}};
  if (deployment.preflight) {
    const auto& p = *deployment.preflight;
    nlohmann::json preflight = {{"run", p.step.run},
                                {"shell", p.step.shell},
                                {"env", p.step.env},
                                {"port_env", p.port_env},
                                {"path", p.path}};
    add_poll(preflight, p.poll);
    out["preflight"] = std::move(preflight);
  }
  out["activate"] = steps_json(deployment.activate);
  if (deployment.health_check) {
    const auto& h = *deployment.health_check;
    nlohmann::json check = {{"url", h.url}, {"expect_status", h.expect_status}};
    if (h.expect_body) check["expect_body"] = *h.expect_body;
    add_poll(check, h.poll);
    out["health_check"] = std::move(check);
  }
}

nlohmann::json deployment_json(const Deployment& deployment) {
  nlohmann::json out = {
      {"repository", deployment.repository},
      {"branch", deployment.branch},
      {"path", deployment.path.string()},
      {"enabled", deployment.enabled},
      {"remote", deployment.remote},
      {"coalesce", deployment.coalesce},
      {"tags", deployment.tags},
      {"deletions", deployment.deletions},
      {"env", deployment.env},
      {"steps", steps_json(deployment.steps)},
      {"environment", deployment.environment},
  };
  // Absent when empty: an empty list is not a valid value (and means no filter).
  if (!deployment.paths.empty()) out["paths"] = deployment.paths;
  if (!deployment.ignore_paths.empty()) out["ignore_paths"] = deployment.ignore_paths;
  if (deployment.retry) {
    out["retry"] = {{"attempts", deployment.retry->attempts},
                    {"backoff_s", deployment.retry->backoff_s},
                    {"exit_codes", deployment.retry->exit_codes}};
  }
  if (deployment.wait_for_checks) {
    out["wait_for_checks"] = deployment.wait_for_checks->all
                                 ? nlohmann::json("all")
                                 : nlohmann::json(deployment.wait_for_checks->names);
    out["wait_for_checks_timeout_s"] = deployment.wait_for_checks->timeout.count();
  }
  if (!deployment.environment_url.empty()) out["environment_url"] = deployment.environment_url;
  add_release_mode(out, deployment);
  if (!deployment.webhook_secrets.empty()) {
    nlohmann::json secrets = nlohmann::json::array();
    for (const auto& source : deployment.webhook_secrets) secrets.push_back(source_json(source));
    out["webhook_secrets"] = std::move(secrets);
  }
  if (!deployment.run_as.empty()) out["run_as"] = deployment.run_as;
  if (deployment.nginx) {
    out["nginx"] = {{"site", deployment.nginx->site}, {"name", deployment.nginx->name}};
  }
  if (!deployment.certificates.empty()) out["certificates"] = deployment.certificates;
  // Shown only when set: without the key a deployment runs on whichever host loads the file.
  if (deployment.hosts_set) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& target : deployment.hosts) {
      hosts.push_back({{"name", target.name}, {"env", target.env}});
    }
    out["hosts"] = std::move(hosts);
  }
  const auto& rollout = deployment.rollout;
  out["rollout"] = {{"max_parallel", rollout.max_parallel},
                    {"host_timeout_s", rollout.host_timeout_s},
                    {"on_host_down",
                     rollout.on_host_down == RolloutSettings::OnHostDown::skip ? "skip" : "wait"}};
  return out;
}

nlohmann::json dashboard_json(const DashboardSettings& dashboard) {
  nlohmann::json users = nlohmann::json::array();
  for (const auto& user : dashboard.users) {
    users.push_back(
        {{"name", user.name},
         {"password_hash", source_json(user.password_hash)},
         {"role", user.role == DashboardUser::Role::operator_ ? "operator" : "viewer"}});
  }
  return {
      {"listen", {{"host", dashboard.listen.host}, {"port", dashboard.listen.port}}},
      // null when unset: the effective configuration must load back as it is shown.
      {"public_url", dashboard.public_url.empty() ? nlohmann::json(nullptr)
                                                  : nlohmann::json(dashboard.public_url)},
      {"metrics_token", source_json(dashboard.metrics_token)},
      {"users", std::move(users)},
  };
}

}  // namespace

nlohmann::json to_json_masked(const Config& config) {
  nlohmann::json secrets = nlohmann::json::array();
  for (const auto& source : config.webhook_secrets) secrets.push_back(source_json(source));
  nlohmann::json deployments = nlohmann::json::object();
  for (const auto& [name, deployment] : config.deployments) {
    deployments[name] = deployment_json(deployment);
  }
  const auto& r = config.receiver;
  nlohmann::json out = {
      {"_file", config.file.string()},  // a "_" comment: the output loads as a config
      {"instance", config.instance},
      // Resolved: loading the output back gives the same host (deployctl check-config says on
      // stderr where it came from).
      {"host", config.host},
      {"state_dir", config.state_dir.string()},
      {"listen", {{"host", config.listen.host}, {"port", config.listen.port}}},
      {"allow_root", config.allow_root},
      {"privileged_command", config.privileged_command},
      {"secrets", {{"webhook", std::move(secrets)}}},
      {"database", {{"url", source_json(config.database_url)}}},
      {"github",
       {{"api_url", config.github.api_url},
        {"token", source_json(config.github.token)},
        {"checks_poll_s", config.github.checks_poll_s},
        {"deployments", config.github.deployments},
        {"commit_statuses", config.github.commit_statuses}}},
      {"receiver",
       {{"body_limit_bytes", r.body_limit_bytes},
        {"header_limit_bytes", r.header_limit_bytes},
        {"read_timeout_s", r.read_timeout_s},
        {"idle_timeout_s", r.idle_timeout_s},
        {"max_connections", r.max_connections},
        {"max_connections_per_ip", r.max_connections_per_ip},
        {"max_buffered_bytes", r.max_buffered_bytes},
        {"publish_threads", r.publish_threads},
        {"allow_cidrs", r.allow_cidrs},
        {"trusted_proxies", r.trusted_proxies}}},
      {"router", {{"settle_ms", config.router.settle_ms}, {"rescan_s", config.router.rescan_s}}},
      {"retention",
       {{"done_max_age_days", config.retention.done_max_age_days},
        {"done_max_count", config.retention.done_max_count}}},
      {"dashboard", dashboard_json(config.dashboard)},
      {"deployments", std::move(deployments)},
  };
  if (!config.notify.empty()) {
    nlohmann::json notify = nlohmann::json::array();
    for (const auto& n : config.notify) {
      static constexpr const char* types[] = {"slack", "discord", "webhook"};
      nlohmann::json item = {{"name", n.name},
                             {"type", types[static_cast<int>(n.type)]},
                             {"url", source_json(n.url)},
                             {"on", n.on}};
      if (n.secret) item["secret"] = source_json(*n.secret);
      if (!n.deployments.empty()) item["deployments"] = n.deployments;
      notify.push_back(std::move(item));
    }
    out["notify"] = std::move(notify);
  }
  return out;
}

}  // namespace common
