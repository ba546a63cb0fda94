// The dashboard's pure parts: escaping, form and cookie parsing, the pages rendered from
// hand-made snapshots (hostile text stays text), the login brake's clock, the Secure cookie,
// and the `dashboard` configuration keys.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/config.hpp"
#include "common/password.hpp"
#include "dashboard/app.hpp"
#include "dashboard/auth.hpp"
#include "dashboard/html.hpp"
#include "dashboard/message.hpp"
#include "dashboard/pages.hpp"

using namespace dashboard;

namespace {

const std::string kHostile = "<script>alert('x')</script><img src=x onerror=alert(1)>\"&";

common::Config config_with(const nlohmann::json& dashboard) {
  nlohmann::json json = {{"instance", "t"},
                         {"state_dir", "/tmp/dashboard-unit-var"},
                         {"dashboard", dashboard},
                         {"deployments",
                          {{"app",
                            {{"repository", "o/r"},
                             {"branch", "main"},
                             {"path", "/srv/app"},
                             {"steps", nlohmann::json::array()}}}}}};
  return common::parse_config(json.dump(), "conf/deployer.json");
}

std::string config_error(const nlohmann::json& dashboard) {
  try {
    config_with(dashboard);
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("dashboard unit: escape leaves no markup") {
  const auto escaped = escape(kHostile);
  CHECK(escaped.find('<') == std::string::npos);
  CHECK(escaped.find('>') == std::string::npos);
  CHECK(escaped.find('"') == std::string::npos);
  CHECK(escaped.find('\'') == std::string::npos);
  CHECK(escape("a&b") == "a&amp;b");
}

TEST_CASE("dashboard unit: forms and queries and cookies") {
  const auto form = parse_urlencoded("name=ali+ce&password=p%40ss%3D1&empty=&bad=%zz&name=second");
  CHECK(form.at("name") == "ali ce");
  CHECK(form.at("password") == "p@ss=1");
  CHECK(form.at("empty").empty());
  CHECK(form.at("bad") == "%zz");
  CHECK(url_encode("a b&c/é") == "a%20b%26c%2F%C3%A9");
  Request request;
  request.target = "/deployments/app?page=3";
  request.headers = {{"cookie", "x=1; dashboard_session=abc ; y=2"},
                     {"content-type", "application/x-www-form-urlencoded; charset=UTF-8"}};
  request.body = "csrf=t";
  CHECK(request.path() == "/deployments/app");
  CHECK(request.query().at("page") == "3");
  CHECK(request.cookie("dashboard_session") == "abc");
  CHECK_FALSE(request.cookie("missing"));
  CHECK(request.form().at("csrf") == "t");
  request.headers[1].second = "text/plain";
  CHECK(request.form().empty());
}

TEST_CASE("dashboard unit: hostile log lines and commit messages and names are shown as text") {
  RunView view;
  view.run.id = 7;
  view.run.deployment = "app";
  view.run.entry_name = "00000000000000000001-d.json";
  view.run.sha = std::string(40, 'a');
  view.run.ref = "refs/heads/" + kHostile;
  view.run.error = kHostile;
  view.run.started_at = std::chrono::system_clock::now();
  view.message = kHostile;
  view.log = "| " + kHostile + "\n";
  const Viewer viewer{"olivia", true, "token\"><script>"};
  const auto html = run_page(view, viewer, std::chrono::system_clock::now());
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("<img src=x") == std::string::npos);
  CHECK(html.find("token\"><script>") == std::string::npos);
  CHECK_THAT(html, Catch::Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  // A running run is followed live; a finished one is not.
  CHECK_THAT(html, Catch::Contains("data-follow=\"/runs/7/events\""));
  view.run.finished_at = view.run.started_at;
  view.run.outcome = ledger::RunOutcome::succeeded;
  const auto done = run_page(view, viewer, std::chrono::system_clock::now());
  CHECK_THAT(done, !Catch::Contains("data-follow"));
  CHECK_THAT(done, Catch::Contains("Deploy this commit again"));
  // A viewer gets no buttons.
  CHECK_THAT(run_page(view, Viewer{"victor", false, "t"}, std::chrono::system_clock::now()),
             !Catch::Contains("Deploy this commit again"));
  CHECK(login_page(kHostile).find("<script>alert") == std::string::npos);
}

TEST_CASE("dashboard unit: the login brake counts failures per address over a minute") {
  Auth auth({{"olivia", Role::operator_, common::hash_password("right")}});
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) {
    CHECK(auth.login("olivia", "wrong", "10.0.0.1", t0 + std::chrono::seconds(i)).outcome ==
          Auth::Outcome::wrong);
  }
  CHECK(auth.login("olivia", "right", "10.0.0.1", t0 + std::chrono::seconds(10)).outcome ==
        Auth::Outcome::limited);
  // Another address is not affected.
  CHECK(auth.login("olivia", "right", "10.0.0.2", t0 + std::chrono::seconds(10)).outcome ==
        Auth::Outcome::ok);
  // Once the oldest failure is a minute old, the address may try again.
  const auto later = auth.login("olivia", "right", "10.0.0.1", t0 + std::chrono::seconds(61));
  REQUIRE(later.outcome == Auth::Outcome::ok);
  const auto session = auth.session(later.token, t0 + std::chrono::seconds(62));
  REQUIRE(session);
  CHECK(session->is_operator());
  CHECK(session->csrf.size() == 64);
  CHECK_FALSE(auth.session(later.token, t0 + std::chrono::seconds(61) + Auth::kSessionLifetime));
}

TEST_CASE("dashboard unit: the session cookie is Secure when public_url is https") {
  const auto dir = std::filesystem::temp_directory_path() / "dashboard-unit-hash";
  std::filesystem::create_directories(dir);
  const auto hash_file = dir / "h";
  { std::ofstream(hash_file) << common::hash_password("pw") << "\n"; }
  for (const auto& [url, secure] : std::vector<std::pair<std::string, bool>>{
           {"https://deploy.example.com/", true}, {"http://localhost:3401", false}}) {
    const nlohmann::json user = {
        {"name", "o"}, {"password_hash", {{"file", hash_file.string()}}}, {"role", "operator"}};
    const auto config =
        config_with({{"public_url", url}, {"users", nlohmann::json::array({user})}});
    CHECK(config.dashboard.public_url.back() != '/');
    Auth auth(load_users(config));
    App app(config, auth);
    Request request;
    request.method = "POST";
    request.target = "/login";
    request.peer = "127.0.0.1";
    request.headers = {{"content-type", "application/x-www-form-urlencoded"}};
    request.body = "name=o&password=pw";
    const auto response = app.handle(request);
    REQUIRE(response.status == 303);
    const auto cookie = response.header("Set-Cookie").value_or("");
    CHECK((cookie.find("; Secure") != std::string::npos) == secure);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("dashboard unit: configuration keys and their errors") {
  const auto config = config_with(nlohmann::json::object());
  CHECK(config.dashboard.listen.host == "127.0.0.1");  // loopback by default
  CHECK(config.dashboard.listen.port == 3401);
  CHECK(config.dashboard.users.empty());
  CHECK_THAT(
      config_error(
          {{"users", {{{"name", "a b"}, {"password_hash", {{"env", "H"}}}, {"role", "viewer"}}}}}),
      Catch::Contains("dashboard.users[0].name: must be 1 to 64"));
  CHECK_THAT(
      config_error(
          {{"users", {{{"name", "a"}, {"password_hash", {{"env", "H"}}}, {"role", "admin"}}}}}),
      Catch::Contains("dashboard.users[0].role: must be \"viewer\" or \"operator\""));
  CHECK_THAT(
      config_error({{"users", {{{"name", "a"}, {"password_hash", "plain"}, {"role", "viewer"}}}}}),
      Catch::Contains("dashboard.users[0].password_hash: must be {\"env\""));
  CHECK_THAT(config_error({{"public_url", "ftp://x"}}),
             Catch::Contains("dashboard.public_url: must start with https://"));
  CHECK_THAT(config_error({{"listen", {{"port", 70000}}}}),
             Catch::Contains("dashboard.listen.port"));
  CHECK_THAT(config_error({{"colour", "blue"}}), Catch::Contains("dashboard.colour: unknown key"));
  CHECK_THAT(
      config_error({{"users",
                     {{{"name", "a"}, {"password_hash", {{"env", "H"}}}, {"role", "viewer"}},
                      {{"name", "a"}, {"password_hash", {{"env", "H"}}}, {"role", "viewer"}}}}}),
      Catch::Contains("appears twice"));
}

TEST_CASE("dashboard unit: password hashes are argon2id and verify only the right password") {
  const auto hash = common::hash_password("correct horse");
  CHECK_THAT(hash, Catch::StartsWith("$argon2id$"));
  CHECK(common::verify_password(hash, "correct horse"));
  CHECK_FALSE(common::verify_password(hash, "correct horsE"));
  CHECK_FALSE(common::verify_password("not a hash", "x"));
  CHECK(common::hash_password("correct horse") != hash);  // salted
}
