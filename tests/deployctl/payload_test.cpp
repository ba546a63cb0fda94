// Pure parts of deployctl: the push payload's shape, delivery ids, hook ids, durations.
#include <catch2/catch.hpp>

#include <set>

#include "common/entry.hpp"
#include "deployctl/push_payload.hpp"
#include "deployctl/status_report.hpp"
#include "tests/deployctl/helpers.hpp"

using namespace deployctl;

TEST_CASE("the test push payload has GitHub's shape and parses as a push") {
  CommitInfo commit;
  commit.tree = std::string(40, 't');
  commit.parent = std::string(40, 'b');
  commit.author_name = "Ada";
  commit.author_email = "ada@example.com";
  commit.committer_name = "Ada";
  commit.committer_email = "ada@example.com";
  commit.timestamp = "2026-11-23T04:05:06+00:00";
  commit.message = "Fix the thing";
  commit.modified = {"server/index.ts"};
  const TestPush push{"ducompsoc/durhack",        "staging", std::string(40, 'a'), "ada",
                      "2026-11-23T04:05:07.000Z", commit};
  const auto payload = push_payload(push);
  CHECK(payload["ref"] == "refs/heads/staging");
  CHECK(payload["before"] == std::string(40, 'b'));
  CHECK(payload["after"] == std::string(40, 'a'));
  CHECK(payload["created"] == false);
  CHECK(payload["deleted"] == false);
  CHECK(payload["repository"]["full_name"] == "ducompsoc/durhack");
  CHECK(payload["repository"]["owner"]["login"] == "ducompsoc");
  CHECK(payload["repository"]["default_branch"] == "staging");
  CHECK(payload["head_commit"]["tree_id"] == std::string(40, 't'));
  CHECK(payload["head_commit"]["message"] == "Fix the thing");
  CHECK(payload["head_commit"]["author"]["email"] == "ada@example.com");
  CHECK(payload["head_commit"]["modified"] == nlohmann::json({"server/index.ts"}));
  CHECK(payload["commits"][0] == payload["head_commit"]);
  const auto parsed = common::parse_push(payload);
  REQUIRE(parsed.ok());
  CHECK(parsed->branch() == "staging");
  CHECK(parsed->before == std::string(40, 'b'));

  TestPush bare = push;
  bare.commit.reset();
  const auto minimal = push_payload(bare);
  CHECK(minimal["before"] == std::string(40, '0'));
  CHECK(minimal["created"] == true);
  CHECK(minimal["head_commit"]["timestamp"] == "2026-11-23T04:05:07.000Z");
  CHECK(common::parse_push(minimal).ok());
}

TEST_CASE("delivery ids are fresh version-4 UUIDs and hook ids are stable per repository") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = random_uuid();
    CHECK(deployctl_test::is_uuid_v4(id));
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
  CHECK(hook_id_for("ducompsoc/durhack") == hook_id_for("ducompsoc/durhack"));
  CHECK(hook_id_for("ducompsoc/durhack") != hook_id_for("ducompsoc/other"));
  const std::string hook = hook_id_for("a/b");
  CHECK(hook.size() == 9);
  CHECK(hook.find_first_not_of("0123456789") == std::string::npos);
  CHECK(hook[0] != '0');
}

TEST_CASE("durations for people") {
  using std::chrono::seconds;
  CHECK(human_duration(seconds(0)) == "0s");
  CHECK(human_duration(seconds(59)) == "59s");
  CHECK(human_duration(seconds(65)) == "1m05s");
  CHECK(human_duration(seconds(3600 * 2 + 7 * 60)) == "2h07m");
  CHECK(human_duration(seconds(86400 * 3 + 4 * 3600)) == "3d04h");
  CHECK(human_duration(seconds(-5)) == "0s");
}
