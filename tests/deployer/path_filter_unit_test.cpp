// Path filters (paths, ignore_paths) and the [skip deploy] marker, as pure functions.
#include <catch2/catch.hpp>

#include "deployer/path_filter.hpp"

using deployer::filtered_out;
using deployer::has_skip_marker;

namespace {
common::Deployment with_filters(std::vector<std::string> paths,
                                std::vector<std::string> ignore_paths) {
  common::Deployment deployment;
  deployment.paths = std::move(paths);
  deployment.ignore_paths = std::move(ignore_paths);
  return deployment;
}
}  // namespace

TEST_CASE("the skip marker is found anywhere in the message, either order, any case",
          "[path_filter]") {
  CHECK(has_skip_marker("docs: typo [skip deploy]"));
  CHECK(has_skip_marker("[deploy skip] docs\n\nbody"));
  CHECK(has_skip_marker("subject\n\nbody says [Skip Deploy] here"));
  CHECK_FALSE(has_skip_marker("skip deploy"));
  CHECK_FALSE(has_skip_marker("[skip ci]"));
  CHECK_FALSE(has_skip_marker("[skip  deploy]"));
}

TEST_CASE("without filters every push deploys, even one that changed nothing", "[path_filter]") {
  const auto none = with_filters({}, {});
  CHECK_FALSE(filtered_out(none, {"docs/a.md"}, "abc1234"));
  CHECK_FALSE(filtered_out(none, {}, "abc1234"));
}

TEST_CASE("paths: a push deploys only when a changed path matches", "[path_filter]") {
  const auto server = with_filters({"server/**", "package.json"}, {});
  CHECK_FALSE(filtered_out(server, {"docs/a.md", "server/index.ts"}, "abc1234"));
  CHECK_FALSE(filtered_out(server, {"package.json"}, "abc1234"));
  const auto reason = filtered_out(server, {"docs/a.md", "client/package.json"}, "abc1234");
  REQUIRE(reason);
  CHECK(*reason ==
        "no changed path matches paths (2 path(s) changed since abc1234: docs/a.md, "
        "client/package.json)");
}

TEST_CASE("ignore_paths: a push that changed only ignored paths is skipped", "[path_filter]") {
  const auto docs = with_filters({}, {"docs/**", "**/*.md"});
  CHECK_FALSE(filtered_out(docs, {"docs/a.md", "src/main.cpp"}, "abc1234"));
  const auto reason = filtered_out(docs, {"docs/a.md", "server/README.md"}, "abc1234");
  REQUIRE(reason);
  CHECK(reason->starts_with("only ignore_paths changed (2 path(s) changed since abc1234"));
  CHECK(filtered_out(docs, {}, "abc1234") == "no path changed since abc1234");
}

TEST_CASE("both: an ignored path does not count towards paths", "[path_filter]") {
  const auto both = with_filters({"server/**"}, {"server/**/*.md"});
  CHECK(filtered_out(both, {"server/README.md"}, "abc1234"));
  CHECK_FALSE(filtered_out(both, {"server/README.md", "server/index.ts"}, "abc1234"));
}

TEST_CASE("a long list of changed paths is cut in the reason", "[path_filter]") {
  const auto server = with_filters({"server/**"}, {});
  std::vector<std::string> changed;
  for (int i = 0; i < 40; ++i) changed.push_back("docs/" + std::to_string(i) + ".md");
  const auto reason = filtered_out(server, changed, "abc1234");
  REQUIRE(reason);
  CHECK(reason->find("docs/4.md, ... (40 in all)") != std::string::npos);
  CHECK(reason->find("docs/5.md") == std::string::npos);
}
