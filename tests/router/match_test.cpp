// Unit tests of router::match_push: repository/branch matching, tags, deletions, enabled.
#include <catch2/catch.hpp>

#include "common/config.hpp"
#include "common/entry.hpp"
#include "router/match.hpp"

namespace {

common::Config config_with(const std::string& deployments) {
  return common::parse_config(
      R"({"instance": "test", "state_dir": "var", "deployments": {)" + deployments + "}}",
      "/tmp/router-match-test/deployer.json");
}

std::string deployment(const std::string& repository, const std::string& branch,
                       const std::string& extra = "") {
  return R"({"repository": ")" + repository + R"(", "branch": ")" + branch +
         R"(", "path": "/srv/app", "steps": [])" + extra + "}";
}

common::Push push(const std::string& repository, const std::string& ref, bool deleted = false) {
  common::Push p;
  p.repository = repository;
  p.ref = ref;
  p.after = deleted ? std::string(40, '0') : std::string(40, 'a');
  p.deleted = deleted;
  return p;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("a branch push matches the deployments of that repository and branch") {
  const auto config = config_with(R"("prod": )" + deployment("ducompsoc/durhack", "main") +
                                  R"(, "staging": )" + deployment("ducompsoc/durhack", "staging") +
                                  R"(, "other": )" + deployment("someone/else", "main"));
  CHECK(router::match_push(config, push("ducompsoc/durhack", "refs/heads/main")).deployments ==
        Names{"prod"});
  CHECK(router::match_push(config, push("ducompsoc/durhack", "refs/heads/staging")).deployments ==
        Names{"staging"});
  const auto none = router::match_push(config, push("ducompsoc/durhack", "refs/heads/feature"));
  CHECK(none.deployments.empty());
  CHECK(none.reason == "no enabled deployment watches ducompsoc/durhack@feature");
  const auto unknown = router::match_push(config, push("nobody/here", "refs/heads/main"));
  CHECK(unknown.reason == "no enabled deployment watches nobody/here");
}

TEST_CASE("repositories compare case-insensitively, branches exactly") {
  const auto config = config_with(R"("prod": )" + deployment("ducompsoc/durhack", "main"));
  CHECK(router::match_push(config, push("DUCOMPSOC/DurHack", "refs/heads/main")).deployments ==
        Names{"prod"});
  CHECK(
      router::match_push(config, push("ducompsoc/durhack", "refs/heads/Main")).deployments.empty());
  // A longer or shorter name is another repository, not a prefix match.
  CHECK(router::match_push(config, push("ducompsoc/durhack2", "refs/heads/main"))
            .deployments.empty());
}

TEST_CASE("several deployments of one branch all match, in name order") {
  const auto config = config_with(R"("b-mirror": )" + deployment("o/r", "main") +
                                  R"(, "a-prod": )" + deployment("o/r", "main"));
  CHECK(router::match_push(config, push("o/r", "refs/heads/main")).deployments ==
        Names{"a-prod", "b-mirror"});
}

TEST_CASE("disabled deployments never match, and the reason names them") {
  const auto config =
      config_with(R"("prod": )" + deployment("o/r", "main", R"(, "enabled": false)"));
  const auto match = router::match_push(config, push("o/r", "refs/heads/main"));
  CHECK(match.deployments.empty());
  CHECK(match.reason == "no enabled deployment watches o/r (disabled: prod)");
}

TEST_CASE("tag pushes match only deployments with tags: true") {
  const auto config = config_with(R"("prod": )" + deployment("o/r", "main") + R"(, "release": )" +
                                  deployment("o/r", "release", R"(, "tags": true)"));
  CHECK(router::match_push(config, push("o/r", "refs/tags/v1.0")).deployments == Names{"release"});
  const auto plain = config_with(R"("prod": )" + deployment("o/r", "main"));
  const auto match = router::match_push(plain, push("o/r", "refs/tags/v1.0"));
  CHECK(match.deployments.empty());
  CHECK(match.reason == "tag push refs/tags/v1.0: no enabled deployment of o/r has \"tags\": true");
  // A tag named like the branch is still a tag.
  CHECK(router::match_push(plain, push("o/r", "refs/tags/main")).deployments.empty());
}

TEST_CASE("branch deletions match only deployments with deletions: true") {
  const auto config = config_with(R"("prod": )" + deployment("o/r", "main"));
  const auto match = router::match_push(config, push("o/r", "refs/heads/main", true));
  CHECK(match.deployments.empty());
  CHECK(match.reason ==
        "push deletes refs/heads/main: no enabled deployment of it has \"deletions\": true");
  const auto allowing =
      config_with(R"("prod": )" + deployment("o/r", "main", R"(, "deletions": true)"));
  CHECK(router::match_push(allowing, push("o/r", "refs/heads/main", true)).deployments ==
        Names{"prod"});
  // deletions: true does not widen the branch rule.
  CHECK(router::match_push(allowing, push("o/r", "refs/heads/other", true)).deployments.empty());
  // A deleted tag needs both.
  const auto tags_only =
      config_with(R"("prod": )" + deployment("o/r", "main", R"(, "tags": true)"));
  CHECK(router::match_push(tags_only, push("o/r", "refs/tags/v1", true)).deployments.empty());
}
