// SIGHUP reloads the configuration of the long-running programs in place (common/reload.hpp):
// the router routes a deployment added to the file, a deployer runs changed steps from its next
// deploy on (the running one finishes as it started), the dashboard takes new users while its
// sessions stay, the receiver rotates its webhook secret; an invalid file is refused with one
// error line and changes nothing. Every program is the real binary over a real pipeline
// (helpers.hpp); none is restarted.
#include <catch2/catch.hpp>

#include <signal.h>

#include "common/ledger/ledger.hpp"
#include "queue-layout/scan.hpp"
#include "tests/dashboard/helpers.hpp"

using namespace dashboard_test;
using namespace std::chrono_literals;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

nlohmann::json read_config(const Site& site) {
  return nlohmann::json::parse(test::read_file(site.config));
}

void write_config(const Site& site, const nlohmann::json& json) {
  test::write_file(site.config, json.dump(2));
}

// Sends SIGHUP and waits for the program to log that the new configuration is in effect (or,
// when `accepted` is false, that it was refused).
void reload(const Site& site, test::Child& child, const std::string& program, bool accepted) {
  const std::string line = accepted ? "configuration in effect" : "configuration not reloaded";
  const auto before = count_of(site.log(program), line);
  child.signal(SIGHUP);
  REQUIRE(test::eventually([&] { return count_of(site.log(program), line) > before; }, 30s));
  CHECK(child.running());
}

std::size_t entries_in(const std::filesystem::path& folder) {
  queue_layout::Listing listing;
  queue_layout::list_entries(folder, listing);
  return listing.entries.size();
}

}  // namespace

TEST_CASE("reload: SIGHUP makes the router route a deployment added to the configuration") {
  Pipeline p(nlohmann::json::array({{{"name", "build"}, {"run", {"true"}}}}));
  const std::string docs_sha = p.site.origin.commit({{"docs.md", "docs\n"}}, "docs", "docs");
  auto json = read_config(p.site);
  json["deployments"]["docs"] = {{"repository", "example/site"},
                                 {"branch", "docs"},
                                 {"path", (p.site.dir / "docs-app").string()},
                                 {"remote", p.site.origin.url().string()},
                                 {"steps", {{{"name", "build"}, {"run", {"true"}}}}}};
  write_config(p.site, json);
  auto push_docs = [&] {
    const auto sent =
        p.site.deployctl({"send-test-push", "docs", "--sha", docs_sha, "--no-wait"}, p.env);
    INFO(sent.output);
    REQUIRE(sent.status == 0);
  };

  // Written but not reloaded: the router still knows only "site", so nothing is queued for docs.
  push_docs();
  REQUIRE(test::eventually([&] { return entries_in(p.site.layout.inbox()) == 0; }, 30s));
  CHECK(entries_in(p.site.layout.queue("docs")) == 0);

  reload(p.site, *p.router, "router", true);
  push_docs();
  CHECK(test::eventually([&] { return entries_in(p.site.layout.queue("docs")) == 1; }, 30s));
  INFO(p.logs());
  // "site" is still routed and deployed by its deployer.
  CHECK(p.send_test_push().status == 0);
}

TEST_CASE("reload: SIGHUP changes a deployer's steps from its next deploy, not the running one") {
  test::TempDir marks("reload-marks");
  const auto record = (marks / "steps.log").string();
  auto step = [&](const std::string& word, const std::string& pause) {
    return nlohmann::json::array({{{"name", "build"},
                                   {"run", {"sleep " + pause + "; echo " + word + " >> " + record}},
                                   {"shell", true},
                                   {"timeout_s", 60}}});
  };
  Pipeline p(step("old", "2"));
  // A deploy that is running when the SIGHUP comes.
  const auto sent = p.site.deployctl({"send-test-push", "site", "--no-wait"}, p.env);
  INFO(sent.output);
  REQUIRE(sent.status == 0);
  REQUIRE(test::eventually([&] { return entries_in(p.site.layout.active("site")) == 1; }, 30s));
  auto json = read_config(p.site);
  json["deployments"]["site"]["steps"] = step("new", "0");
  write_config(p.site, json);
  const pid_t pid = p.deployer->pid();
  p.deployer->signal(SIGHUP);
  // The running deploy ends with the steps it started with...
  REQUIRE(test::eventually([&] { return entries_in(p.site.layout.done("site")) == 1; }, 60s));
  REQUIRE(test::eventually(
      [&] { return count_of(p.site.log("deployer"), "configuration in effect") == 1; }, 30s));
  CHECK(test::read_file(record) == "old\n");
  // ... and the next one with the new steps, by the same process.
  p.site.origin.commit({{"next.txt", "next\n"}}, "next");
  const auto second = p.send_test_push();
  INFO(second.output + p.logs());
  CHECK(second.status == 0);
  CHECK(test::read_file(record) == "old\nnew\n");
  CHECK(p.deployer->running());
  CHECK(p.deployer->pid() == pid);
}

TEST_CASE("reload: an invalid configuration is refused with one error line and changes nothing") {
  Pipeline p(nlohmann::json::array({{{"name", "build"}, {"run", {"true"}}}}));
  const auto session = login(p.site.port, kOperator, kOperatorPassword);
  const auto good = test::read_file(p.site.config);
  test::write_file(p.site.config, good.substr(0, good.size() / 2));  // cut in the middle
  reload(p.site, *p.router, "router", false);
  reload(p.site, *p.deployer, "deployer", false);
  reload(p.site, *p.dashboard, "dashboard", false);
  for (const char* program : {"router", "deployer", "dashboard"}) {
    INFO(program);
    const auto log = p.site.log(program);
    CHECK(count_of(log, "configuration not reloaded") == 1);
    CHECK_THAT(log, Catch::Contains(p.site.config.string()));
    CHECK(count_of(log, "configuration in effect") == 0);
  }
  // A configuration that parses but changes state_dir is refused too.
  auto json = nlohmann::json::parse(good);
  json["state_dir"] = "elsewhere";
  write_config(p.site, json);
  reload(p.site, *p.router, "router", false);
  CHECK_THAT(p.site.log("router"), Catch::Contains("state_dir changed"));
  // Everything goes on as before.
  test::write_file(p.site.config, good);
  const auto pushed = p.send_test_push();
  INFO(pushed.output + p.logs());
  CHECK(pushed.status == 0);
  CHECK(get(p.site.port, "/", session).status == 200);
}

TEST_CASE("reload: SIGHUP gives the dashboard new users and ends removed users' sessions only") {
  Pipeline p(nlohmann::json::array({{{"name", "build"}, {"run", {"true"}}}}));
  const auto operator_session = login(p.site.port, kOperator, kOperatorPassword);
  const auto viewer_session = login(p.site.port, kViewer, kViewerPassword);
  const std::string newcomer_password = "newcomer pass 3";
  test::write_file(p.site.dir / "newcomer.hash", hash_password(newcomer_password) + "\n");
  CHECK_THROWS(login(p.site.port, "nina", newcomer_password));

  auto json = read_config(p.site);
  auto& users = json["dashboard"]["users"];
  users.erase(1);  // the viewer
  users.push_back(
      {{"name", "nina"}, {"password_hash", {{"file", "newcomer.hash"}}}, {"role", "viewer"}});
  write_config(p.site, json);
  const pid_t pid = p.dashboard->pid();
  reload(p.site, *p.dashboard, "dashboard", true);

  CHECK(p.dashboard->pid() == pid);
  const auto nina = login(p.site.port, "nina", newcomer_password);
  CHECK(get(p.site.port, "/", nina).status == 200);
  // The operator's session, kept in the dashboard's memory, survived the reload; the removed
  // viewer's did not, and the viewer can no longer log in.
  CHECK(get(p.site.port, "/", operator_session).status == 200);
  CHECK(get(p.site.port, "/", viewer_session).status == 303);
  CHECK_THROWS(login(p.site.port, kViewer, kViewerPassword));
}

TEST_CASE("reload: SIGHUP rotates the receiver's webhook secret without a restart") {
  Pipeline p(nlohmann::json::array({{{"name", "build"}, {"run", {"true"}}}}));
  const pid_t pid = p.receiver->pid();
  auto status_with = [&](const std::string& secret) {
    test::http::Webhook hook;
    hook.secret = secret;
    hook.event = "ping";
    return test::http::roundtrip(p.site.receiver_port, test::http::webhook_request(hook)).status;
  };
  const std::string rotated = "the rotated webhook secret";
  const auto secret_file = p.site.dir / "webhook.secret";
  test::write_file(secret_file, rotated + "\n");
  std::filesystem::permissions(
      secret_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  REQUIRE(status_with(kSecret) == 202);
  REQUIRE(status_with(rotated) == 401);

  // During the rotation both secrets are accepted...
  auto json = read_config(p.site);
  json["secrets"]["webhook"] = {{{"file", secret_file.string()}}, {{"env", "WEBHOOK_SECRET"}}};
  write_config(p.site, json);
  reload(p.site, *p.receiver, "receiver", true);
  CHECK(status_with(kSecret) == 202);
  CHECK(status_with(rotated) == 202);

  // ... then only the new one.
  json["secrets"]["webhook"] = {{{"file", secret_file.string()}}};
  write_config(p.site, json);
  reload(p.site, *p.receiver, "receiver", true);
  CHECK(status_with(kSecret) == 401);
  CHECK(status_with(rotated) == 202);

  // A request that started before a reload finishes under the configuration it started with: a
  // delivery signed with the rotated secret sends its header (the receiver's "100 Continue" says
  // it is being read), the configuration goes back to the first secret only, then the body.
  {
    test::http::Webhook hook;
    hook.secret = rotated;
    hook.event = "ping";
    hook.extra_headers = {{"Expect", "100-continue"}};
    const std::string raw = test::http::webhook_request(hook);
    const auto header_end = raw.find("\r\n\r\n") + 4;
    test::http::Connection started(p.site.receiver_port);
    started.send(std::string_view(raw).substr(0, header_end));
    REQUIRE(started.read_response().status == 100);
    auto first_only = json;
    first_only["secrets"]["webhook"] = {{{"env", "WEBHOOK_SECRET"}}};
    write_config(p.site, first_only);
    reload(p.site, *p.receiver, "receiver", true);
    started.send(std::string_view(raw).substr(header_end));
    CHECK(started.read_response().status == 202);
    CHECK(status_with(rotated) == 401);  // a request started after the reload: the new secrets
    write_config(p.site, json);
    reload(p.site, *p.receiver, "receiver", true);
  }

  // Refused, and nothing changes: a secret file that cannot be read, a changed address.
  auto missing = json;
  missing["secrets"]["webhook"] = {{{"file", (p.site.dir / "missing.secret").string()}}};
  write_config(p.site, missing);
  reload(p.site, *p.receiver, "receiver", false);
  CHECK_THAT(p.site.log("receiver"), Catch::Contains("missing.secret"));
  auto moved = json;
  moved["listen"]["port"] = test::free_port();
  write_config(p.site, moved);
  reload(p.site, *p.receiver, "receiver", false);
  CHECK_THAT(p.site.log("receiver"), Catch::Contains("listen changed"));
  CHECK(status_with(rotated) == 202);
  CHECK(status_with(kSecret) == 401);
  CHECK(p.receiver->pid() == pid);
  // A push signed with the new secret is deployed end to end.
  write_config(p.site, json);
  const auto pushed = p.site.deployctl({"send-test-push", "site"}, p.env);
  INFO(pushed.output + p.logs());
  CHECK(pushed.status == 0);
}
