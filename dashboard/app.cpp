// app.cpp: routing and the checks in front of every page and action (app.hpp).
#include "dashboard/app.hpp"

#include <charconv>

#include "common/log.hpp"
#include "common/password.hpp"
#include "common/secrets.hpp"
#include "dashboard/pages.hpp"
#include "deployctl/actions.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/status_report.hpp"
#include "queue-layout/name.hpp"

namespace dashboard {
namespace {

// Same-origin assets only, no inline script or style, no framing, forms post only here.
constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

Response html(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response redirect(std::string location) {
  Response response;
  response.status = 303;
  response.headers.push_back({"Location", std::move(location)});
  response.body = "";
  return response;
}

Response json_response(unsigned status, const nlohmann::json& value) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = value.dump(2) + "\n";
  return response;
}

Response plain(unsigned status, std::string text) {
  Response response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::move(text) + "\n";
  return response;
}

Viewer viewer_of(const Session& session) {
  return Viewer{session.user, session.is_operator(), session.csrf};
}

// "/runs/123" -> 123; "/runs/12x", "/runs/" -> nullopt.
std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t id = 0;
  if (text.empty() || text.size() > 18) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

std::size_t page_number(const Request& request) {
  const auto query = request.query();
  const auto it = query.find("page");
  if (it == query.end()) return 0;
  const auto n = parse_id(it->second);
  return n && *n <= 100000 ? static_cast<std::size_t>(*n - 1) : 0;
}

bool secure_cookie(const common::Config& config) {
  return config.dashboard.public_url.starts_with("https://");
}

}  // namespace

App::App(const common::Config& config, Auth& auth, Metrics metrics)
    : config_(std::make_shared<const common::Config>(config)),
      auth_(auth),
      metrics_(std::move(metrics)) {}

std::shared_ptr<const common::Config> App::config() const {
  std::lock_guard lock(config_mutex_);
  return config_;
}

void App::reload(const common::Config& next, std::vector<User> users) {
  // Users first: a session of a user who is gone ends now, before the new pages are served.
  auth_.replace_users(std::move(users));
  std::lock_guard lock(config_mutex_);
  config_ = std::make_shared<const common::Config>(next);
}

LogChunk App::follow(std::int64_t run_id, std::uint64_t offset) const {
  return Snapshots(*config()).follow(run_id, offset);
}

Response App::handle(const Request& request) {
  Response response;
  // One configuration for the whole request, even if a reload swaps it meanwhile.
  const auto config = this->config();
  try {
    response = route(*config, request);
  } catch (const std::exception& e) {
    common::log::error("request failed", {{"path", request.path()}, {"error", e.what()}});
    response = html(500, message_page("Error", e.what(), Viewer{}));
  }
  auto& h = response.headers;
  h.push_back({"Content-Security-Policy", std::string(kPolicy)});
  h.push_back({"X-Content-Type-Options", "nosniff"});
  h.push_back({"X-Frame-Options", "DENY"});
  h.push_back({"Referrer-Policy", "no-referrer"});
  if (!response.header("Cache-Control")) h.push_back({"Cache-Control", "no-store"});
  return response;
}

Response App::route(const common::Config& config, const Request& request) {
  const std::string_view path = request.path();
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  if (path == "/healthz") return json_response(200, {{"status", "ok"}});
  if (get && (path == "/static/style.css" || path == "/static/app.js")) {
    Response response;
    response.content_type =
        path.ends_with(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
    response.body = std::string(path.ends_with(".css") ? style_css() : app_js());
    response.headers.push_back({"Cache-Control", "max-age=300"});
    return response;
  }
  if (path == "/metrics") return metrics(config, request);
  if (path == "/login") {
    if (get) return html(200, login_page(""));
    if (post) return login(config, request);
    return plain(405, "use GET or POST");
  }
  const auto token = request.cookie(kSessionCookie);
  const auto session = token ? auth_.session(*token, Clock::now()) : std::nullopt;
  if (!session) return redirect("/login");
  if (post) {
    const auto form = request.form();
    const auto csrf = form.find("csrf");
    if (csrf == form.end() || csrf->second.empty()) {
      return html(403, message_page("Refused", "missing CSRF token: reload the page and try again",
                                    viewer_of(*session)));
    }
    if (!common::equal_constant_time(csrf->second, session->csrf)) {
      return html(403, message_page("Refused", "wrong CSRF token: reload the page and try again",
                                    viewer_of(*session)));
    }
    if (path == "/logout") {
      auth_.logout(*token);
      auto response = redirect("/login");
      response.headers.push_back(
          {"Set-Cookie", std::string(kSessionCookie) +
                             "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
                             (secure_cookie(config) ? "; Secure" : "")});
      return response;
    }
    return act(config, request, *session, path);
  }
  if (!get) return plain(405, "use GET or POST");
  return page(config, request, *session, path);
}

Response App::login(const common::Config& config, const Request& request) {
  const auto form = request.form();
  const auto field = [&](const char* name) {
    const auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
  };
  const std::string name = field("name");
  const auto result = auth_.login(name, field("password"), request.peer, Clock::now());
  if (result.outcome == Auth::Outcome::limited) {
    common::log::warn("login refused: too many failures", {{"peer", request.peer}});
    auto response = html(
        429, login_page("Too many failed logins from your address: wait " +
                        std::to_string(result.retry_after.count()) + " seconds and try again."));
    response.headers.push_back({"Retry-After", std::to_string(result.retry_after.count())});
    return response;
  }
  if (result.outcome == Auth::Outcome::wrong) {
    common::log::warn("login failed", {{"peer", request.peer}, {"user", name}});
    return html(401, login_page("Wrong name or password."));
  }
  common::log::info("login", {{"peer", request.peer}, {"user", name}});
  auto response = redirect("/");
  response.headers.push_back(
      {"Set-Cookie", std::string(kSessionCookie) + "=" + result.token + "; Path=/; Max-Age=" +
                         std::to_string(std::chrono::seconds(Auth::kSessionLifetime).count()) +
                         "; HttpOnly; SameSite=Strict" +
                         (secure_cookie(config) ? "; Secure" : "")});
  return response;
}

Response App::act(const common::Config& config, const Request& request, const Session& session,
                  std::string_view path) {
  const Viewer viewer = viewer_of(session);
  // /deployments/<name>/retry, /deployments/<name>/deploy or /deployments/<name>/rollback
  constexpr std::string_view prefix = "/deployments/";
  if (!path.starts_with(prefix))
    return html(404, message_page("Not found", "no such action", viewer));
  const auto rest = path.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    return html(404, message_page("Not found", "no such action", viewer));
  const std::string name(rest.substr(0, slash));
  const auto action = rest.substr(slash + 1);
  if (action != "retry" && action != "deploy" && action != "rollback") {
    return html(404, message_page("Not found", "no such action", viewer));
  }
  if (!session.is_operator()) {
    common::log::warn("action refused: viewer", {{"user", session.user}, {"path", path}});
    return html(403, message_page("Refused",
                                  "only operators can retry, deploy or roll back; " + session.user +
                                      " is a viewer",
                                  viewer));
  }
  const auto found = config.deployments.find(name);
  if (found == config.deployments.end()) {
    return html(404, message_page("Not found", "no deployment named " + name, viewer));
  }
  const auto& deployment = found->second;
  const auto form = request.form();
  const auto field = [&](const char* key) {
    const auto it = form.find(key);
    return it == form.end() ? std::string() : it->second;
  };
  try {
    if (action == "retry") {
      std::vector<std::string> names;
      if (const auto entry = field("entry"); !entry.empty()) {
        if (!queue_layout::is_entry_name(entry)) {
          return html(400, message_page("Refused", "not an entry name: " + entry, viewer));
        }
        names.push_back(entry);
      }
      for (const auto& moved : deployctl::retry_failed(config, deployment, names)) {
        common::log::info(
            "retry", {{"user", session.user}, {"deployment", deployment.name}, {"entry", moved}});
      }
    } else if (action == "rollback") {
      const auto queued =
          deployctl::enqueue_rollback(config, deployment, field("to"), session.user);
      common::log::info("rollback", {{"user", session.user},
                                     {"deployment", deployment.name},
                                     {"release", queued.release},
                                     {"entry", queued.entry}});
    } else {
      const auto entry =
          deployctl::enqueue_replay(config, deployment, field("sha"), field("ref"), session.user);
      common::log::info("deploy again", {{"user", session.user},
                                         {"deployment", deployment.name},
                                         {"sha", field("sha")},
                                         {"entry", entry}});
    }
  } catch (const deployctl::UsageError& e) {
    return html(400, message_page("Refused", e.what(), viewer));
  } catch (const deployctl::Failure& e) {
    return html(409, message_page("Could not do that", e.what(), viewer));
  }
  return redirect("/deployments/" + deployment.name);
}

Response App::page(const common::Config& config, const Request& request, const Session& session,
                   std::string_view path) {
  const Snapshots snapshots(config);
  const Viewer viewer = viewer_of(session);
  const auto now = std::chrono::system_clock::now();
  if (path == "/") return html(200, overview_page(snapshots.overview(), viewer, now));
  if (path == "/failed") return html(200, failures_page(snapshots.failures(), viewer));
  if (path == "/api/status") {
    return json_response(200, deployctl::to_json(deployctl::gather_status(config)));
  }
  if (path.starts_with("/deployments/")) {
    const std::string name(path.substr(std::string_view("/deployments/").size()));
    auto view = snapshots.deployment(name, page_number(request));
    if (!view) return html(404, message_page("Not found", "no deployment named " + name, viewer));
    return html(200, deployment_page(*view, viewer, now));
  }
  if (path.starts_with("/runs/")) {
    auto rest = path.substr(std::string_view("/runs/").size());
    const bool events = rest.ends_with("/events");
    if (events) rest.remove_suffix(std::string_view("/events").size());
    const auto id = parse_id(rest);
    if (!id) return html(404, message_page("Not found", "no such run", viewer));
    if (events) {
      Response response;
      response.content_type = "text/event-stream";
      std::uint64_t from = 0;
      // EventSource sends the last event id when it reconnects; the page gives ?from= at first.
      std::string offset(request.header("last-event-id").value_or(""));
      if (offset.empty()) offset = request.query()["from"];
      if (auto n = parse_id(offset)) from = static_cast<std::uint64_t>(*n);
      response.stream = LogStream{*id, from};
      return response;
    }
    auto view = snapshots.run(*id);
    if (!view)
      return html(404, message_page("Not found", "no run #" + std::to_string(*id), viewer));
    return html(200, run_page(*view, viewer, now));
  }
  return html(404, message_page("Not found", "there is no page here", viewer));
}

Response App::metrics(const common::Config& config, const Request& request) {
  const auto token = common::read_secret(config.dashboard.metrics_token);
  if (!metrics_ || !token) return plain(404, "metrics are not enabled (dashboard.metrics_token)");
  const std::string expected = "Bearer " + *token;
  const auto given = request.header("authorization");
  if (!given || !common::equal_constant_time(*given, expected)) {
    auto response = plain(401, "a bearer token is required");
    response.headers.push_back({"WWW-Authenticate", "Bearer"});
    return response;
  }
  Response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics_(config);
  return response;
}

}  // namespace dashboard
