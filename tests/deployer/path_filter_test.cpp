// Path filters and [skip deploy] with the REAL deployer, real git repositories and PostgreSQL:
// a docs-only push is skipped (ledger, log, done/, deployctl status), the changed files come
// from git against the deployed commit (not from the pushes in between), [skip deploy] in the
// head commit skips, an operator's replay is never filtered.
#include <catch2/catch.hpp>

#include "tests/deployer/harness.hpp"
#include "tests/support/child.hpp"

using nlohmann::json;
using test::deployer::Harness;
using test::deployer::sh_step;
using Lines = std::vector<std::string>;

namespace {

void record_runs(Harness& h) {
  h.deployment_extra["env"] = {{"OUT", h.out().string()}};
  h.steps = json::array({sh_step("record", "echo \"$DEPLOY_SHA\" >> \"$OUT/runs\"")});
}

std::string status_text(Harness& h) {
  const auto result =
      test::run({test::bin("deployctl").string(), "--config", h.config_file().string(), "status"},
                {{"DATABASE_URL", h.database.url()}});
  return result.output;
}

}  // namespace

TEST_CASE("a docs-only push is skipped with its reason, a later code push is deployed",
          "[deployer][path_filter]") {
  Harness h;
  auto first = h.origin.commit({{"server/index.js", "1\n"}, {"docs/guide.md", "a\n"}}, "first");
  h.clone();
  record_runs(h);
  h.deployment_extra["ignore_paths"] = json::array({"docs/**", "**/*.md"});
  auto deployer = h.start();
  // A first deploy is never filtered: nothing is deployed to compare with.
  auto e1 = h.webhook_push(first);
  REQUIRE(h.wait_in("done", e1));

  auto docs = h.origin.commit({{"docs/guide.md", "b\n"}, {"README.md", "x\n"}}, "docs only");
  auto e2 = h.webhook_push(docs);
  REQUIRE(h.wait_in("done", e2));
  CHECK(h.state_of(e2) == "skipped");
  CHECK(test::checked_out(h.app()) == first);
  const auto item = h.ledger().queue_item("app", e2);
  REQUIRE(item);
  CHECK(item->reason == "only ignore_paths changed (2 path(s) changed since " + first.substr(0, 7) +
                            ": README.md, docs/guide.md)");
  const std::string log = test::read_file(h.dir("logs") / (e2 + ".log"));
  CHECK(log.find("skipped: only ignore_paths changed") != std::string::npos);
  CHECK(h.deployer_log().find("decision=skipped") != std::string::npos);
  const auto history = h.ledger().history("app");
  REQUIRE(history.last_skipped);
  CHECK(history.last_skipped->entry_name == e2);
  const std::string status = status_text(h);
  CHECK(status.find("last skipped: " + docs.substr(0, 7)) != std::string::npos);
  CHECK(status.find("only ignore_paths changed") != std::string::npos);

  auto code = h.origin.commit({{"server/index.js", "2\n"}}, "code");
  auto e3 = h.webhook_push(code);
  REQUIRE(h.wait_in("done", e3));
  CHECK(h.state_of(e3) == "succeeded");
  CHECK(h.out_lines("runs") == Lines{first, code});
  CHECK(test::checked_out(h.app()) == code);
}

TEST_CASE("[skip deploy] skips, and the next push is compared with the deployed commit",
          "[deployer][path_filter]") {
  Harness h;
  auto first = h.origin.commit({{"server/index.js", "1\n"}}, "first");
  h.clone();
  record_runs(h);
  h.deployment_extra["paths"] = json::array({"server/**"});
  auto deployer = h.start();
  auto e1 = h.webhook_push(first);
  REQUIRE(h.wait_in("done", e1));

  // A server change, but the message says not to deploy it.
  auto marked = h.origin.commit({{"server/index.js", "2\n"}}, "wip\n\nnot yet [Deploy Skip]");
  auto e2 = h.webhook_push(marked);
  REQUIRE(h.wait_in("done", e2));
  CHECK(h.state_of(e2) == "skipped");
  CHECK(h.ledger().queue_item("app", e2)->reason ==
        "[skip deploy] in the message of commit " + marked.substr(0, 7));

  // Only docs in this push, but against the deployed commit the server changed (the skipped
  // push's change): git's diff, not this push's own files, decides, so it is deployed.
  auto docs = h.origin.commit({{"docs/a.md", "a\n"}}, "docs");
  auto e3 = h.webhook_push(docs);
  REQUIRE(h.wait_in("done", e3));
  CHECK(h.state_of(e3) == "succeeded");

  // Now nothing under server/ changed since the deployed commit: skipped.
  auto more_docs = h.origin.commit({{"docs/b.md", "b\n"}}, "more docs");
  auto e4 = h.webhook_push(more_docs);
  REQUIRE(h.wait_in("done", e4));
  CHECK(h.state_of(e4) == "skipped");
  CHECK(h.ledger().queue_item("app", e4)->reason ==
        "no changed path matches paths (1 path(s) changed since " + docs.substr(0, 7) +
            ": docs/b.md)");

  // An operator's replay is an explicit request: never filtered.
  auto replay = h.operator_replay(more_docs);
  REQUIRE(h.wait_in("done", replay));
  CHECK(h.state_of(replay) == "succeeded");
  CHECK(h.out_lines("runs") == Lines{first, docs, more_docs});
}
