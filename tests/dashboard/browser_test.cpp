// The dashboard in a real headless chromium over a real pipeline: log in with the keyboard, see
// the overview (on a desktop and a phone-sized screen), follow a running deploy's log live, deploy
// a commit again and roll back to a kept release as an operator, and be refused as a viewer.
// Screenshots of each page go to <build>/screenshots/ for a person to look at.
#include <algorithm>

#include <catch2/catch.hpp>

#include "queue-layout/scan.hpp"
#include "tests/dashboard/browser.hpp"
#include "tests/dashboard/helpers.hpp"
#include "tests/support/skip.hpp"

using namespace dashboard_test;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path kShots = DASHBOARD_SCREENSHOT_DIR;

// Logs in through the form with the keyboard only: the name field has the focus on arrival.
void keyboard_login(Browser& browser, unsigned short port, const std::string& name,
                    const std::string& password) {
  browser.navigate("http://127.0.0.1:" + std::to_string(port) + "/");
  REQUIRE(browser.wait_until("location.pathname === '/login'", 10s));
  REQUIRE(
      browser.wait_until("document.activeElement && document.activeElement.id === 'name'", 10s));
  browser.type(name);
  browser.press("Tab");
  browser.type(password);
  browser.press("Enter");
  REQUIRE(
      browser.wait_until("location.pathname === '/' && document.readyState === 'complete'", 20s));
}

std::string text_of(Browser& browser) {
  return browser.evaluate("document.body.innerText").get<std::string>();
}

std::size_t runs_of(const Pipeline& p) {
  const auto session = login(p.site.port, kViewer, kViewerPassword);
  const auto status = get(p.site.port, "/api/status", session).json();
  return status["deployments"]["site"]["done"]["count"].get<std::size_t>();
}

}  // namespace

TEST_CASE(
    "browser: an operator logs in with the keyboard and sees the overview and a live log and "
    "deploys again") {
  if (!have_chromium())
    test::skip("/usr/bin/chromium is not installed (scripts/setup.sh installs it)");
  Pipeline p(nlohmann::json::array(
      {{{"name", "build"},
        {"run",
         {"for i in 1 2 3 4 5 6 7 8 9 10; do echo \"tick $i <b>not bold</b>\"; sleep 0.4; done"}},
        {"shell", true},
        {"timeout_s", 60}}}));
  const auto first = p.send_test_push();
  INFO(first.output + p.logs());
  REQUIRE(first.status == 0);

  Browser browser(p.site.dir / "chromium-operator", p.site.dir / "chromium.log");
  keyboard_login(browser, p.site.port, kOperator, kOperatorPassword);
  const auto overview = text_of(browser);
  CHECK_THAT(overview, Catch::Contains("site"));
  CHECK_THAT(overview, Catch::Contains(p.site.first_sha.substr(0, 12)));
  CHECK_THAT(overview, Catch::Contains("succeeded"));
  browser.screenshot(kShots / "overview.png");
  // A phone-sized screen needs no sideways scrolling.
  browser.phone(true);
  browser.navigate("http://127.0.0.1:" + std::to_string(p.site.port) + "/");
  CHECK(browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") == true);
  browser.screenshot(kShots / "overview-phone.png");
  browser.phone(false);

  // Follow a deploy while it runs: the page shows what the step prints after it was opened.
  const auto session = login(p.site.port, kOperator, kOperatorPassword);
  REQUIRE(p.site.deployctl({"enqueue", "site", "--sha", p.site.first_sha}, p.env).status == 0);
  std::int64_t run_id = 0;
  REQUIRE(test::eventually(
      [&] {
        const auto active =
            get(p.site.port, "/api/status", session).json()["deployments"]["site"]["active"];
        if (active.is_null() || active["run_id"].is_null()) return false;
        run_id = active["run_id"].get<std::int64_t>();
        return true;
      },
      30s));
  browser.navigate("http://127.0.0.1:" + std::to_string(p.site.port) + "/runs/" +
                   std::to_string(run_id));
  const auto at_open =
      browser.evaluate("document.getElementById('log').textContent").get<std::string>();
  CHECK_THAT(at_open, !Catch::Contains("tick 10"));
  CHECK(browser.wait_until(
      "document.getElementById('log').textContent.includes('tick 10 <b>not bold</b>')", 30s));
  CHECK(browser.wait_until(
      "document.getElementById('follow-status').textContent === 'Finished: succeeded'", 30s));
  // What the step printed is text, not markup.
  CHECK(browser.evaluate("document.querySelectorAll('#log b').length") == 0);
  browser.screenshot(kShots / "run.png");

  // Deploy again, with the keyboard: focus the newest run's button and press Enter.
  const std::size_t before = runs_of(p);
  browser.navigate("http://127.0.0.1:" + std::to_string(p.site.port) + "/deployments/site");
  browser.screenshot(kShots / "deployment.png");
  REQUIRE(
      browser.evaluate(
          "document.querySelectorAll('form[action=\"/deployments/site/deploy\"] button').length") >
      0);
  browser.evaluate(
      "document.querySelector('form[action=\"/deployments/site/deploy\"] button').focus()");
  browser.press("Enter");
  CHECK(browser.wait_until(
      "location.pathname === '/deployments/site' && document.readyState === 'complete'", 20s));
  CHECK(test::eventually([&] { return runs_of(p) == before + 1; }, 60s));
}

TEST_CASE("browser: a viewer sees no action buttons and is refused when acting anyway") {
  if (!have_chromium())
    test::skip("/usr/bin/chromium is not installed (scripts/setup.sh installs it)");
  Pipeline p(nlohmann::json::array({{{"name", "build"}, {"run", {"true"}}}}));
  const auto first = p.send_test_push();
  INFO(first.output + p.logs());
  REQUIRE(first.status == 0);
  Browser browser(p.site.dir / "chromium-viewer", p.site.dir / "chromium.log");
  keyboard_login(browser, p.site.port, kViewer, kViewerPassword);
  browser.navigate("http://127.0.0.1:" + std::to_string(p.site.port) + "/deployments/site");
  CHECK_THAT(text_of(browser), Catch::Contains("succeeded"));
  CHECK(browser.evaluate("document.querySelectorAll('form[action$=\"/deploy\"], "
                         "form[action$=\"/retry\"], form[action$=\"/rollback\"]').length") == 0);
  // A hand-made form with the session's own CSRF token: the server still refuses a viewer.
  browser.evaluate(
      "(() => { const f = document.createElement('form'); f.method = 'post';"
      " f.action = '/deployments/site/deploy';"
      " for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value],"
      " ['sha', '" +
      p.site.first_sha +
      "']]) {"
      " const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;"
      " f.appendChild(i); } document.body.appendChild(f); f.submit(); return true; })()");
  CHECK(browser.wait_until("document.body.innerText.includes('only operators')", 20s));
  browser.screenshot(kShots / "viewer-refused.png");
  queue_layout::Listing queued;
  queue_layout::list_entries(p.site.layout.queue("site"), queued);
  CHECK(queued.entries.empty());
}

TEST_CASE("browser: an operator rolls a release-mode deployment back to a kept release") {
  if (!have_chromium())
    test::skip("/usr/bin/chromium is not installed (scripts/setup.sh installs it)");
  test::TempDir releases_root("dashboard-releases");
  Pipeline p(nlohmann::json::array({{{"name", "build"}, {"run", {"true"}}}}),
             {{"path", (releases_root / "site").string()}, {"releases", {{"keep", 3}}}});
  // A release-mode path holds no checkout to read the head from: the commits are named.
  auto push = [&](const std::string& sha) {
    return p.site.deployctl({"send-test-push", "site", "--sha", sha, "--timeout", "120"}, p.env);
  };
  const auto first = push(p.site.first_sha);
  INFO(first.output + p.logs());
  REQUIRE(first.status == 0);
  const std::string second_sha = p.site.origin.commit({{"README.md", "second\n"}}, "second");
  const auto second = push(second_sha);
  INFO(second.output + p.logs());
  REQUIRE(second.status == 0);
  const auto session = login(p.site.port, kOperator, kOperatorPassword);
  auto live_commit = [&] {
    const auto releases =
        get(p.site.port, "/api/status", session).json()["deployments"]["site"]["releases"];
    if (releases.is_null() || !releases["commit"].is_string()) return std::string();
    return releases["commit"].get<std::string>();
  };
  REQUIRE(live_commit() == second_sha);

  Browser browser(p.site.dir / "chromium-rollback", p.site.dir / "chromium.log");
  keyboard_login(browser, p.site.port, kOperator, kOperatorPassword);
  browser.navigate("http://127.0.0.1:" + std::to_string(p.site.port) + "/deployments/site");
  // Both releases are listed, the live one marked and without a button; the older one has one.
  CHECK(browser.evaluate("document.querySelectorAll('#releases tbody tr').length") == 2);
  const auto table =
      browser.evaluate("document.getElementById('releases').innerText").get<std::string>();
  CHECK_THAT(table, Catch::Contains(second_sha.substr(0, 12)));
  CHECK_THAT(table, Catch::Contains(p.site.first_sha.substr(0, 12)));
  CHECK_THAT(table, Catch::Contains("live"));
  REQUIRE(browser.evaluate(
              "document.querySelectorAll('#releases form[action=\"/deployments/site/rollback\"] "
              "button').length") == 1);
  browser.screenshot(kShots / "releases.png");
  // With the keyboard: focus the button and press Enter.
  browser.evaluate(
      "document.querySelector('#releases form[action=\"/deployments/site/rollback\"] "
      "button').focus()");
  browser.press("Enter");
  CHECK(browser.wait_until(
      "location.pathname === '/deployments/site' && document.readyState === 'complete'", 20s));
  CHECK(test::eventually([&] { return live_commit() == p.site.first_sha; }, 60s));
  INFO(p.logs());
  // The rollback was an entry like any other: it went through the queue to done/.
  queue_layout::Listing done;
  CHECK(test::eventually(
      [&] {
        queue_layout::list_entries(p.site.layout.done("site"), done);
        return std::any_of(done.entries.begin(), done.entries.end(), [](const std::string& name) {
          return name.find("rollback-") != std::string::npos;
        });
      },
      30s));
}
