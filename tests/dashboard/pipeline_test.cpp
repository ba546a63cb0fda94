// The dashboard over a real pipeline: the real receiver, router and deployer deploy real commits
// of a real git origin (through `deployctl send-test-push` and `enqueue`), recording into a real
// ledger; the real dashboard then shows them. Hostile commit messages and step output stay text,
// a running deploy's log is followed live over Server-Sent Events, and /metrics is parsed after a
// known sequence of deploys.
#include <catch2/catch.hpp>

#include <poll.h>
#include <unistd.h>

#include <sstream>

#include "common/ledger/migrations.hpp"
#include "tests/dashboard/helpers.hpp"
#include "tests/support/pg.hpp"

using namespace dashboard_test;
using namespace std::chrono_literals;

namespace {

const std::string kCommitXss = "<script>alert('commit')</script> fix the build";
const std::string kLogXss = "<script>alert('log')</script>";

// The value of one series ("name{labels}") in Prometheus text, or nullopt.
std::optional<double> series(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with('#')) continue;
    const auto space = line.rfind(' ');
    if (space != std::string::npos && line.substr(0, space) == name) {
      return std::stod(line.substr(space + 1));
    }
  }
  return std::nullopt;
}

std::string metrics(unsigned short port) {
  const auto response =
      get(port, "/metrics", "", {{"Authorization", std::string("Bearer ") + kMetricsToken}});
  if (response.status != 200) throw std::runtime_error("/metrics: " + response.body);
  return response.body;
}

std::vector<std::int64_t> run_ids(const std::string& html) {
  std::vector<std::int64_t> ids;
  const std::string marker = "href=\"/runs/";
  for (auto at = html.find(marker); at != std::string::npos; at = html.find(marker, at + 1)) {
    ids.push_back(std::stoll(html.substr(at + marker.size())));
  }
  return ids;
}

// The id of the event whose data ends with `data` ("id: N\ndata: <time> <data>\n"), or "".
std::string event_id(const std::string& stream, const std::string& data) {
  const auto at = stream.find(data + "\n");
  if (at == std::string::npos) return "";
  const auto start = stream.rfind("id: ", at);
  if (start == std::string::npos) return "";
  return stream.substr(start + 4, stream.find('\n', start) - start - 4);
}

}  // namespace

TEST_CASE(
    "dashboard pipeline: real deploys are shown with hostile text as text and counted in the "
    "metrics") {
  Pipeline p(nlohmann::json::array(
      {{{"name", "build"},
        {"run", {"echo \"" + kLogXss + "\"; echo built $DEPLOY_SHA; test ! -e fail"}},
        {"shell", true},
        {"timeout_s", 60}}}));
  const auto first = p.send_test_push();
  INFO(first.output + p.logs());
  REQUIRE(first.status == 0);
  const std::string bad = p.site.origin.commit({{"fail", "x\n"}}, kCommitXss);
  // send-test-push builds head_commit from the working tree: let it know the commit, so the entry
  // carries its real (hostile) message as GitHub's payload would.
  test::git(p.site.dir / "app", {"fetch", "-q", "origin"});
  const auto second = p.send_test_push();
  INFO(second.output + p.logs());
  REQUIRE(second.status == 1);

  const auto session = login(p.site.port, kViewer, kViewerPassword);
  const auto overview = get(p.site.port, "/", session);
  REQUIRE(overview.status == 200);
  CHECK_THAT(overview.body, Catch::Contains(p.site.first_sha.substr(0, 12)));  // live commit
  CHECK_THAT(overview.body, Catch::Contains("class=\"failed\">failed"));       // last outcome
  CHECK_THAT(overview.body, Catch::Contains("0 waiting"));

  const auto history = get(p.site.port, "/deployments/site", session);
  REQUIRE(history.status == 200);
  CHECK_THAT(history.body, Catch::Contains(bad.substr(0, 12)));
  CHECK_THAT(history.body,
             Catch::Contains("&lt;script&gt;alert(&#39;commit&#39;)&lt;/script&gt; fix"));
  CHECK(history.body.find("<script>alert") == std::string::npos);
  CHECK_THAT(history.body, Catch::Contains("exited with status 1"));
  const auto ids = run_ids(history.body);
  REQUIRE(ids.size() >= 2);

  // The failed run's page: the whole log, escaped; its steps.
  const auto run = get(p.site.port, "/runs/" + std::to_string(ids.front()), session);
  REQUIRE(run.status == 200);
  CHECK_THAT(run.body, Catch::Contains("| &lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;"));
  CHECK_THAT(run.body, Catch::Contains("built " + bad));
  CHECK(run.body.find("<script>alert") == std::string::npos);
  CHECK_THAT(run.body, Catch::Contains(">build<"));
  CHECK(get(p.site.port, "/runs/999999", session).status == 404);
  CHECK(get(p.site.port, "/deployments/nope", session).status == 404);

  // The failed entry is listed for retry.
  const auto failed = get(p.site.port, "/failed", session);
  CHECK_THAT(failed.body, Catch::Contains("exited with status 1"));

  // Metrics after exactly one success and one failure.
  const auto text = metrics(p.site.port);
  INFO(text);
  CHECK(series(text, "deploy_runs_total{deployment=\"site\",outcome=\"succeeded\"}") == 1);
  CHECK(series(text, "deploy_runs_total{deployment=\"site\",outcome=\"failed\"}") == 1);
  CHECK(series(text, "deploy_duration_seconds_count{deployment=\"site\"}") == 2);
  CHECK(series(text, "deploy_entries{deployment=\"site\",folder=\"failed\"}") == 1);
  CHECK(series(text, "deploy_entries{deployment=\"site\",folder=\"queue\"}") == 0);
  CHECK(series(text, "deploy_oldest_waiting_seconds{deployment=\"site\"}") == 0);
  CHECK(series(text, "deploy_ledger_up") == 1);
  CHECK(series(text, "deploy_rollbacks_total{deployment=\"site\"}") == 0);
  const auto last = series(text, "deploy_last_success_timestamp_seconds{deployment=\"site\"}");
  REQUIRE(last);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(*last > now - 600);
  CHECK(*last <= now + 1);

  // Deploying the first commit again after a newer one went live is a rollback.
  p.site.origin.remove({"fail"}, "repair");
  REQUIRE(p.send_test_push().status == 0);
  const auto again = p.site.deployctl({"enqueue", "site", "--sha", p.site.first_sha}, p.env);
  REQUIRE(again.status == 0);
  REQUIRE(test::eventually(
      [&] {
        return series(metrics(p.site.port),
                      "deploy_runs_total{deployment=\"site\",outcome=\"succeeded\"}") == 3;
      },
      60s));
  CHECK(series(metrics(p.site.port), "deploy_rollbacks_total{deployment=\"site\"}") == 1);
  // The receiver's counters file (rewritten within a second) counted the three pushes.
  CHECK(test::eventually(
      [&] {
        return series(metrics(p.site.port), "deploy_webhooks_received_total{status=\"202\"}") == 3;
      },
      10s));
}

TEST_CASE("dashboard pipeline: a running deploy's log is followed live over Server-Sent Events") {
  Pipeline p(nlohmann::json::array(
      {{{"name", "slow"},
        {"run", {"for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 0.5; done"}},
        {"shell", true},
        {"timeout_s", 60}}}));
  const auto session = login(p.site.port, kOperator, kOperatorPassword);
  const auto queued = p.site.deployctl({"enqueue", "site", "--sha", p.site.first_sha}, p.env);
  REQUIRE(queued.status == 0);
  std::int64_t run_id = 0;
  REQUIRE(test::eventually(
      [&] {
        const auto status = get(p.site.port, "/api/status", session).json();
        const auto& active = status["deployments"]["site"]["active"];
        if (active.is_null() || active["run_id"].is_null()) return false;
        run_id = active["run_id"].get<std::int64_t>();
        return true;
      },
      30s));
  const auto page = get(p.site.port, "/runs/" + std::to_string(run_id), session);
  CHECK_THAT(page.body,
             Catch::Contains("data-follow=\"/runs/" + std::to_string(run_id) + "/events\""));

  test::http::Connection connection(p.site.port, "127.0.0.1", 30s);
  connection.send("GET /runs/" + std::to_string(run_id) +
                  "/events?from=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + session + "\r\n\r\n");
  std::string stream;
  bool saw_tick_while_running = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (stream.find("event: end") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd fd{connection.fd(), POLLIN, 0};
    if (::poll(&fd, 1, 1000) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(connection.fd(), buffer, sizeof buffer);
    if (n <= 0) break;
    stream.append(buffer, static_cast<std::size_t>(n));
    if (!saw_tick_while_running && stream.find("| tick 2\n") != std::string::npos) {
      // The event arrived while the step still runs: the deploy is still active.
      const auto status = get(p.site.port, "/api/status", session).json();
      saw_tick_while_running = !status["deployments"]["site"]["active"].is_null();
    }
  }
  INFO(stream + p.logs());
  CHECK_THAT(stream, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(stream, Catch::Contains("Content-Type: text/event-stream"));
  CHECK(saw_tick_while_running);
  for (int i = 1; i <= 8; ++i) {
    CHECK_THAT(stream, Catch::Contains("| tick " + std::to_string(i) + "\n"));
  }
  CHECK_THAT(stream, Catch::Contains("event: end\ndata: succeeded"));
  // Each event's id is the byte offset after it: resuming from one gives what followed.
  const std::string after_tick_4 = event_id(stream, "| tick 4");
  REQUIRE_FALSE(after_tick_4.empty());
  test::http::Connection resume(p.site.port, "127.0.0.1", 30s);
  resume.send("GET /runs/" + std::to_string(run_id) +
              "/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Last-Event-ID: " +
              after_tick_4 + "\r\nCookie: " + session + "\r\n\r\n");
  std::string rest;
  while (rest.find("event: end") == std::string::npos) {
    pollfd fd{resume.fd(), POLLIN, 0};
    if (::poll(&fd, 1, 10000) <= 0) break;
    char buffer[4096];
    const ssize_t n = ::read(resume.fd(), buffer, sizeof buffer);
    if (n <= 0) break;
    rest.append(buffer, static_cast<std::size_t>(n));
  }
  CHECK_THAT(rest, Catch::Contains("| tick 5\n"));
  CHECK_THAT(rest, !Catch::Contains("| tick 4\n"));
}
