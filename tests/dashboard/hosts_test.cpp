// The dashboard of a deployment on several hosts (docs/hosts.md), over real HTTP with a real
// ledger holding what three hosts' deployers would have recorded (tests/hosts/fleet_seed.hpp):
// /api/status has the same `hosts` and `rollout` as `deployctl status --json`, the overview a
// row per host and the newest rollout, the deployment page its rollouts, and a run of another
// host's ledger name links back to the deployment; in a real headless chromium the host tables
// need no sideways scrolling on a phone-sized screen.
#include <catch2/catch.hpp>

#include "common/ledger/migrations.hpp"
#include "tests/dashboard/browser.hpp"
#include "tests/dashboard/helpers.hpp"
#include "tests/hosts/fleet_seed.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/skip.hpp"

using namespace dashboard_test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// "site" on web1..web3 in release mode, with the ledger of a rollout that failed on web2.
void make_fleet(const Site& site, const std::string& url) {
  auto config = json::parse(test::read_file(site.config));
  auto& deployment = config["deployments"]["site"];
  deployment["path"] = (site.dir / "srv" / "${DEPLOY_HOST}").string();
  deployment["releases"] = {{"keep", 3}};
  deployment["hosts"] = fleet_test::kHosts;
  test::write_file(site.config, config.dump(2));
  ledger::migrate(url);
  fleet_test::seed_failed_rollout(url, "site");
}

}  // namespace

TEST_CASE("dashboard: each host of a deployment, its live release, last run and rollout state") {
  test::Database db;
  Site site;
  make_fleet(site, db.url());
  const std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}, {"DEPLOY_HOST", "web1"}};
  auto dashboard = site.start_dashboard(env);
  const auto session = login(site.port, kViewer, kViewerPassword);

  const auto api = get(site.port, "/api/status", session);
  INFO(api.body + site.log("dashboard"));
  REQUIRE(api.status == 200);
  const auto status = api.json();
  const auto expected = json::parse(site.deployctl({"status", "--json"}, env).output);
  CHECK(status["host"] == "web1");
  const auto& d = status["deployments"]["site"];
  CHECK(d["hosts"] == expected["deployments"]["site"]["hosts"]);
  CHECK(d["rollout"] == expected["deployments"]["site"]["rollout"]);
  REQUIRE(d["hosts"].size() == 3);
  CHECK(d["hosts"][1]["rollout"]["host_state"] == "failed");
  CHECK(d["hosts"][2]["live_release"] == fleet_test::old_release("web3"));

  const auto overview = get(site.port, "/", session);
  REQUIRE(overview.status == 200);
  CHECK_THAT(overview.body, Catch::Contains("aria-label=\"hosts of site\""));
  for (const auto& host : fleet_test::kHosts) {
    CHECK_THAT(overview.body, Catch::Contains("<td>" + host));
    CHECK_THAT(overview.body, Catch::Contains(fleet_test::old_release(host)));
  }
  CHECK_THAT(overview.body, Catch::Contains("web1 <span class=\"note\">(this host)</span>"));
  CHECK_THAT(overview.body, Catch::Contains("<span class=\"rolled_back\">rolled_back</span>"));
  CHECK_THAT(overview.body, Catch::Contains("<span class=\"not_switched\">not_switched</span>"));
  CHECK_THAT(overview.body, Catch::Contains("rollout of bbbbbbb: failed on web2 (" +
                                            std::string(fleet_test::kHealthError) +
                                            "): web1 rolled_back, web2 failed, web3 not_switched"));

  const auto page = get(site.port, "/deployments/site", session);
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("<h2 id=\"rollouts\">Rollouts</h2>"));
  CHECK_THAT(page.body, Catch::Contains("<span class=\"failed\">failed</span> on web2"));
  CHECK_THAT(page.body, Catch::Contains("<code>bbbbbbbbbbbb</code>"));
  // The history is this host's: its runs of both commits (web3's run is in its host row only).
  const auto history = page.body.substr(page.body.find("<h2>History</h2>"));
  CHECK_THAT(history, Catch::Contains("rolled back: the rollout failed on web2"));
  CHECK_THAT(history, !Catch::Contains("not switched: the rollout failed on web2"));
  CHECK_THAT(page.body, Catch::Contains("not switched: the rollout failed on web2"));

  // Another host's run, reached from its row: recorded under site@web2, shown as site's.
  const auto run_id = d["hosts"][1]["last_run"]["run_id"].get<std::int64_t>();
  const auto run = get(site.port, "/runs/" + std::to_string(run_id), session);
  REQUIRE(run.status == 200);
  CHECK_THAT(run.body, Catch::Contains("of <a href=\"/deployments/site\">site</a>"));
  CHECK_THAT(run.body, Catch::Contains("<dt>Host</dt><dd>web2</dd>"));
}

TEST_CASE("browser: the host tables of a deployment on several hosts, on a desktop and a phone") {
  if (!have_chromium())
    test::skip("/usr/bin/chromium is not installed (scripts/setup.sh installs it)");
  test::Database db;
  Site site;
  make_fleet(site, db.url());
  auto dashboard = site.start_dashboard({{"DATABASE_URL", db.url()}, {"DEPLOY_HOST", "web1"}});
  const std::string base = "http://127.0.0.1:" + std::to_string(site.port);
  const std::filesystem::path shots = DASHBOARD_SCREENSHOT_DIR;

  Browser browser(site.dir / "chromium-hosts", site.dir / "chromium.log");
  browser.navigate(base + "/");
  REQUIRE(
      browser.wait_until("location.pathname === '/login' && document.activeElement && "
                         "document.activeElement.id === 'name'",
                         10s));
  browser.type(kViewer);
  browser.press("Tab");
  browser.type(kViewerPassword);
  browser.press("Enter");
  REQUIRE(
      browser.wait_until("location.pathname === '/' && document.readyState === 'complete'", 20s));
  const auto rows = browser.evaluate(
      "Array.from(document.querySelectorAll('table.hosts tbody tr'))"
      ".map(r => r.cells[0].innerText + ' | ' + r.cells[3].innerText)");
  INFO(rows.dump());
  REQUIRE(rows.size() == 3);
  CHECK_THAT(rows[0].get<std::string>(), Catch::StartsWith("web1 (this host) | rolled_back"));
  CHECK_THAT(rows[1].get<std::string>(), Catch::StartsWith("web2 | failed"));
  CHECK_THAT(rows[2].get<std::string>(), Catch::StartsWith("web3 | not_switched"));
  browser.screenshot(shots / "overview-hosts.png");

  for (const std::string path : {"/", "/deployments/site"}) {
    browser.phone(true);
    browser.navigate(base + path);
    REQUIRE(browser.wait_until("document.readyState === 'complete'", 10s));
    INFO(path);
    CHECK(browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") == true);
    browser.phone(false);
  }
  browser.screenshot(shots / "deployment-hosts.png");
}
