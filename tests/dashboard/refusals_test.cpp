// Every refusal of the real dashboard binary over real HTTP: no session, wrong password, the login
// brake, missing or wrong CSRF token, a viewer acting; and that an operator's retry moves the
// entry exactly as `deployctl retry` does. The ledger is a real (migrated, empty) database.
#include <catch2/catch.hpp>

#include "common/ledger/ledger.hpp"
#include "common/ledger/migrations.hpp"
#include "queue-layout/scan.hpp"
#include "tests/dashboard/helpers.hpp"
#include "tests/support/pg.hpp"

using namespace dashboard_test;
using namespace std::chrono_literals;

namespace {

const std::string kEntry = "00000000000000000001-d1.json";

bool in_folder(const std::filesystem::path& dir, const std::string& name) {
  return std::filesystem::exists(dir / name);
}

// A failed entry as the deployer leaves it: the entry and its .error.json.
void put_failed(const Site& site) {
  const auto dir = site.layout.failed("site");
  std::filesystem::create_directories(dir);
  test::write_file(dir / kEntry, R"({"event":"push","payload":{"ref":"refs/heads/main","after":")" +
                                     site.first_sha +
                                     R"(","repository":{"full_name":"example/site"}}})"
                                     "\n");
  test::write_file(dir / (kEntry.substr(0, kEntry.size() - 5) + ".json.error.json"),
                   R"({"stage":"step build","reason":"exited with status 1"})");
}

}  // namespace

TEST_CASE("dashboard: without a session every page answers 303 to /login but /healthz is open") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  for (const std::string path :
       {"/", "/failed", "/deployments/site", "/runs/1", "/runs/1/events", "/api/status"}) {
    INFO(path);
    const auto response = get(site.port, path);
    CHECK(response.status == 303);
    CHECK(response.header("location") == "/login");
    // A made-up cookie is no session either.
    const auto forged = get(site.port, path, "dashboard_session=" + std::string(64, 'a'));
    CHECK(forged.status == 303);
  }
  const auto action = post(site.port, "/deployments/site/retry", {{"csrf", "x"}});
  CHECK(action.status == 303);
  CHECK(action.header("location") == "/login");
  const auto health = get(site.port, "/healthz");
  CHECK(health.status == 200);
  CHECK(health.json()["status"] == "ok");
  const auto login_page = get(site.port, "/login");
  CHECK(login_page.status == 200);
  CHECK_THAT(login_page.body, Catch::Contains("name=\"password\""));
}

TEST_CASE("dashboard: a login sets a HttpOnly SameSite=Strict session cookie and redirects") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  const auto response =
      post(site.port, "/login", {{"name", kViewer}, {"password", kViewerPassword}});
  REQUIRE(response.status == 303);
  CHECK(response.header("location") == "/");
  const auto cookie = response.header("set-cookie").value_or("");
  CHECK_THAT(cookie, Catch::StartsWith("dashboard_session="));
  CHECK_THAT(cookie, Catch::Contains("; HttpOnly"));
  CHECK_THAT(cookie, Catch::Contains("; SameSite=Strict"));
  CHECK_THAT(cookie, !Catch::Contains("Secure"));  // public_url is not https here
  const auto session = cookie.substr(0, cookie.find(';'));
  const auto overview = get(site.port, "/", session);
  CHECK(overview.status == 200);
  CHECK_THAT(overview.body, Catch::Contains(kViewer));
  CHECK_THAT(overview.header("content-security-policy").value_or(""),
             Catch::Contains("script-src 'self'"));
  // Logging out ends the session on the server, not only in the browser.
  const auto out = post(site.port, "/logout", {{"csrf", csrf_of(overview.body)}}, session);
  CHECK(out.status == 303);
  CHECK(get(site.port, "/", session).status == 303);
}

TEST_CASE("dashboard: a wrong password or an unknown name is refused without a cookie") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  for (const auto& [name, password] : std::vector<std::pair<std::string, std::string>>{
           {kOperator, kViewerPassword}, {"mallory", kOperatorPassword}, {kOperator, ""}}) {
    const auto response = post(site.port, "/login", {{"name", name}, {"password", password}});
    CHECK(response.status == 401);
    CHECK_FALSE(response.header("set-cookie"));
    CHECK_THAT(response.body, Catch::Contains("Wrong name or password"));
  }
  CHECK_THAT(site.log("dashboard"), !Catch::Contains(kViewerPassword));
}

TEST_CASE("dashboard: from the sixth failed login within a minute an address is refused") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  for (int i = 1; i <= 5; ++i) {
    INFO("failure " << i);
    CHECK(post(site.port, "/login", {{"name", kOperator}, {"password", "guess"}}).status == 401);
  }
  // The sixth attempt is refused even with the right password, and says when to come back.
  const auto limited =
      post(site.port, "/login", {{"name", kOperator}, {"password", kOperatorPassword}});
  CHECK(limited.status == 429);
  CHECK_FALSE(limited.header("set-cookie"));
  const auto retry_after = std::stoi(limited.header("retry-after").value_or("0"));
  CHECK(retry_after > 0);
  CHECK(retry_after <= 60);
}

TEST_CASE("dashboard: a POST without the session's CSRF token changes nothing") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  put_failed(site);
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  const auto session = login(site.port, kOperator, kOperatorPassword);
  const auto missing = post(site.port, "/deployments/site/retry", {{"entry", kEntry}}, session);
  CHECK(missing.status == 403);
  CHECK_THAT(missing.body, Catch::Contains("missing CSRF token"));
  const auto wrong = post(site.port, "/deployments/site/retry",
                          {{"entry", kEntry}, {"csrf", std::string(64, '0')}}, session);
  CHECK(wrong.status == 403);
  CHECK_THAT(wrong.body, Catch::Contains("wrong CSRF token"));
  // Another session's token is wrong too.
  const auto other = login(site.port, kOperator, kOperatorPassword);
  const auto other_csrf = csrf_of(get(site.port, "/", other).body);
  REQUIRE_FALSE(other_csrf.empty());
  CHECK(
      post(site.port, "/deployments/site/retry", {{"entry", kEntry}, {"csrf", other_csrf}}, session)
          .status == 403);
  CHECK(in_folder(site.layout.failed("site"), kEntry));
  CHECK_FALSE(in_folder(site.layout.queue("site"), kEntry));
}

TEST_CASE(
    "dashboard: a viewer sees no buttons and is refused when acting but an operator retries") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  put_failed(site);
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  const auto viewer = login(site.port, kViewer, kViewerPassword);
  const auto viewer_page = get(site.port, "/deployments/site", viewer);
  REQUIRE(viewer_page.status == 200);
  CHECK_THAT(viewer_page.body, Catch::Contains(kEntry));
  CHECK_THAT(viewer_page.body, Catch::Contains("exited with status 1"));
  CHECK_THAT(viewer_page.body, !Catch::Contains(">Retry<"));
  const auto csrf = csrf_of(viewer_page.body);  // the logout form's
  REQUIRE_FALSE(csrf.empty());
  for (const auto& [path, form] :
       std::vector<std::pair<std::string, std::map<std::string, std::string>>>{
           {"/deployments/site/retry", {{"entry", kEntry}, {"csrf", csrf}}},
           {"/deployments/site/deploy", {{"sha", site.first_sha}, {"csrf", csrf}}}}) {
    const auto refused = post(site.port, path, form, viewer);
    CHECK(refused.status == 403);
    CHECK_THAT(refused.body, Catch::Contains("only operators"));
  }
  CHECK(in_folder(site.layout.failed("site"), kEntry));
  queue_layout::Listing queued;
  queue_layout::list_entries(site.layout.queue("site"), queued);
  CHECK(queued.entries.empty());

  const auto operator_session = login(site.port, kOperator, kOperatorPassword);
  const auto page = get(site.port, "/deployments/site", operator_session);
  CHECK_THAT(page.body, Catch::Contains(">Retry<"));
  const auto retried = post(site.port, "/deployments/site/retry",
                            {{"entry", kEntry}, {"csrf", csrf_of(page.body)}}, operator_session);
  CHECK(retried.status == 303);
  CHECK(retried.header("location") == "/deployments/site");
  CHECK(in_folder(site.layout.queue("site"), kEntry));
  CHECK_FALSE(in_folder(site.layout.failed("site"), kEntry));
  CHECK_FALSE(in_folder(site.layout.failed("site"), kEntry + ".error.json"));

  // Deploy again: a replay entry like `deployctl enqueue` writes; a bad sha writes nothing.
  const auto bad = post(site.port, "/deployments/site/deploy",
                        {{"sha", "not-a-sha"}, {"csrf", csrf_of(page.body)}}, operator_session);
  CHECK(bad.status == 400);
  const auto again =
      post(site.port, "/deployments/site/deploy",
           {{"sha", site.first_sha}, {"csrf", csrf_of(page.body)}}, operator_session);
  CHECK(again.status == 303);
  queue_layout::list_entries(site.layout.queue("site"), queued);
  REQUIRE(queued.entries.size() == 2);
  const auto replay = test::read_file(site.layout.queue("site") / queued.entries.back());
  CHECK_THAT(replay, Catch::Contains(site.first_sha));
  CHECK_THAT(replay, Catch::Contains(kOperator));
}

TEST_CASE("dashboard: /metrics needs the bearer token") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  CHECK(get(site.port, "/metrics").status == 401);
  CHECK(get(site.port, "/metrics", "", {{"Authorization", "Bearer wrong"}}).status == 401);
  // A dashboard session is not a metrics token.
  const auto session = login(site.port, kOperator, kOperatorPassword);
  CHECK(get(site.port, "/metrics", session).status == 401);
  const auto ok =
      get(site.port, "/metrics", "", {{"Authorization", std::string("Bearer ") + kMetricsToken}});
  CHECK(ok.status == 200);
  CHECK_THAT(ok.body, Catch::Contains("deploy_notifications_pending{deployment=\"site\"} 0"));
  // Two notifications waiting in the outbox (and a publish temporary, which is not one).
  const auto outbox = site.layout.outbox("site");
  std::filesystem::create_directories(outbox);
  test::write_file(outbox / "00000000000000000001-team.json", "{}");
  test::write_file(outbox / "00000000000000000002-team.json", "{}");
  test::write_file(outbox / ".00000000000000000003-team.json.tmp", "{}");
  const auto later =
      get(site.port, "/metrics", "", {{"Authorization", std::string("Bearer ") + kMetricsToken}});
  CHECK_THAT(later.body, Catch::Contains("deploy_notifications_pending{deployment=\"site\"} 2"));
  CHECK_THAT(later.body, Catch::Contains("deploy_checks_waiting{deployment=\"site\"} 0"));
  // A push in active/ whose queue item waits for its checks.
  std::filesystem::create_directories(site.layout.active("site"));
  test::write_file(site.layout.active("site") / kEntry,
                   R"({"event":"push","payload":{"ref":"refs/heads/main","after":")" +
                       site.first_sha +
                       R"(","repository":{"full_name":"example/site"}}})"
                       "\n");
  ledger::Ledger ledger(db.url());
  ledger.claim("site", kEntry, site.first_sha, "refs/heads/main");
  ledger.wait_for_checks("site", kEntry, std::chrono::system_clock::now() + std::chrono::hours(1),
                         "waiting for checks: ci");
  const auto waiting =
      get(site.port, "/metrics", "", {{"Authorization", std::string("Bearer ") + kMetricsToken}});
  CHECK_THAT(waiting.body, Catch::Contains("deploy_checks_waiting{deployment=\"site\"} 1"));
}

TEST_CASE("dashboard: GET /api/status is deployctl status --json") {
  test::Database db;
  ledger::migrate(db.url());
  Site site;
  put_failed(site);
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}});
  const auto session = login(site.port, kViewer, kViewerPassword);
  const auto api = get(site.port, "/api/status", session);
  REQUIRE(api.status == 200);
  auto from_api = api.json();
  const auto cli = site.deployctl({"status", "--json"}, {{"DATABASE_URL", db.url()}});
  REQUIRE(cli.status == 0);
  auto from_cli = nlohmann::json::parse(cli.output);
  from_api.erase("generated_at");
  from_cli.erase("generated_at");
  CHECK(from_api == from_cli);
  CHECK(from_api["deployments"]["site"]["failed"]["count"] == 1);
}

TEST_CASE("dashboard: refuses to start without users and names the key") {
  Site site(nlohmann::json::array(), {{"dashboard", {{"listen", {{"port", 0}}}}}});
  auto child = site.start("dashboard");
  const auto status = child.wait(30s);
  REQUIRE(status);
  CHECK(*status == 1);
  CHECK_THAT(site.log("dashboard"), Catch::Contains("dashboard.users: no users"));
}
