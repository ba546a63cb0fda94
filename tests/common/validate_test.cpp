// Validators: every rule accepts what GitHub and operators really use and refuses hostile input
// (traversal, separators, shell metacharacters, NUL, non-ASCII).
#include <catch2/catch.hpp>

#include <string>

#include "common/validate.hpp"

using namespace std::string_literals;

namespace {
// Inputs no validator may accept, whatever its character set.
const std::string hostile[] = {
    "",    "../x", "a/../b", "x;rm -rf /", "$(id)", "`id`", "a b", "a\nb",  "a\0b"s, "caf\xc3\xa9",
    "a|b", "a&b",  "a>b",    "~root",      "*",     "a\\b", "'q'", "\"q\"", "\t",    "\x7f",
};
}  // namespace

TEST_CASE("delivery ids accept GitHub UUIDs and refuse paths") {
  CHECK(common::valid_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
  CHECK(common::valid_delivery_id("a"));
  CHECK(common::valid_delivery_id("A_b-9"));
  CHECK(common::valid_delivery_id(std::string(100, 'x')));
  CHECK_FALSE(common::valid_delivery_id(std::string(101, 'x')));
  CHECK_FALSE(common::valid_delivery_id("a.b"));
  CHECK_FALSE(common::valid_delivery_id("a/b"));
  CHECK_FALSE(common::valid_delivery_id(".."));
  for (const auto& bad : hostile) CHECK_FALSE(common::valid_delivery_id(bad));
  CHECK(common::check_delivery_id("a/b").error().message.find("letters") != std::string::npos);
}

TEST_CASE("hook ids and event names") {
  CHECK(common::valid_hook_id("123456"));
  CHECK(common::valid_hook_id(std::string(20, '9')));
  CHECK_FALSE(common::valid_hook_id(std::string(21, '9')));
  CHECK_FALSE(common::valid_hook_id("-1"));
  CHECK_FALSE(common::valid_hook_id("12a"));
  CHECK(common::valid_event_name("push"));
  CHECK(common::valid_event_name("pull_request"));
  CHECK(common::valid_event_name("projects_v2_item"));
  CHECK_FALSE(common::valid_event_name("Push"));
  CHECK_FALSE(common::valid_event_name("push-x"));
  CHECK_FALSE(common::valid_event_name(std::string(65, 'a')));
  for (const auto& bad : hostile) {
    CHECK_FALSE(common::valid_hook_id(bad));
    CHECK_FALSE(common::valid_event_name(bad));
  }
}

TEST_CASE("entry names follow queue-layout's rule") {
  CHECK(common::valid_entry_name("00000001763870706123-72d3162e-cc78-11e3-81ab-4c9367dc0958.json"));
  CHECK_FALSE(common::valid_entry_name("0000001763870706123-abc.json"));  // 19 digits
  CHECK_FALSE(common::valid_entry_name("00000001763870706123-abc.json.tmp"));
  CHECK_FALSE(common::valid_entry_name(".00000001763870706123-abc.json"));
  CHECK_FALSE(common::valid_entry_name("00000001763870706123-../x.json"));
  CHECK_FALSE(common::check_entry_name("x").ok());
  for (const auto& bad : hostile) CHECK_FALSE(common::valid_entry_name(bad));
}

TEST_CASE("deployment names are safe folder names") {
  CHECK(common::valid_deployment_name("durhack"));
  CHECK(common::valid_deployment_name("durhack-staging"));
  CHECK(common::valid_deployment_name("9_a"));
  CHECK(common::valid_deployment_name(std::string(64, 'a')));
  CHECK_FALSE(common::valid_deployment_name(std::string(65, 'a')));
  CHECK_FALSE(common::valid_deployment_name("-x"));
  CHECK_FALSE(common::valid_deployment_name("_x"));
  CHECK_FALSE(common::valid_deployment_name("a.b"));
  CHECK_FALSE(common::valid_deployment_name("."));
  CHECK_FALSE(common::valid_deployment_name("a/b"));
  for (const auto& bad : hostile) CHECK_FALSE(common::valid_deployment_name(bad));
}

TEST_CASE("repositories are owner/name") {
  CHECK(common::valid_repository("ducompsoc/durhack"));
  CHECK(common::valid_repository("a-b/c.d_e-f"));
  CHECK(common::valid_repository("o/.github"));
  CHECK(common::valid_repository(std::string(39, 'o') + "/" + std::string(100, 'n')));
  CHECK_FALSE(common::valid_repository(std::string(40, 'o') + "/n"));
  CHECK_FALSE(common::valid_repository("o/" + std::string(101, 'n')));
  CHECK_FALSE(common::valid_repository("durhack"));
  CHECK_FALSE(common::valid_repository("-o/n"));
  CHECK_FALSE(common::valid_repository("o_x/n"));
  CHECK_FALSE(common::valid_repository("o/."));
  CHECK_FALSE(common::valid_repository("o/.."));
  CHECK_FALSE(common::valid_repository("o/n/x"));
  CHECK_FALSE(common::valid_repository("/n"));
  CHECK_FALSE(common::valid_repository("o/"));
  for (const auto& bad : hostile) CHECK_FALSE(common::valid_repository(bad));
  CHECK(common::same_repository("DUCOMPSOC/DurHack", "ducompsoc/durhack"));
  CHECK_FALSE(common::same_repository("ducompsoc/durhack", "ducompsoc/durhack2"));
}

TEST_CASE("branches follow git's rules within a safe character set") {
  for (const char* good :
       {"main", "staging", "feature/x", "release-1.2", "a_b", "v1.0.0", "a/b/c"}) {
    INFO(good);
    CHECK(common::valid_branch(good));
  }
  for (const char* bad : {"-x", "/x", ".x", "x/", "x.", "x.lock", "a/x.lock/b", "a..b", "a//b",
                          "a/.b", "a@{b", "a b", "a:b", "a~1", "a^", "a?", "a[", "HEAD@{1}"}) {
    INFO(bad);
    CHECK_FALSE(common::valid_branch(bad));
  }
  CHECK(common::valid_branch(std::string(255, 'a')));
  CHECK_FALSE(common::valid_branch(std::string(256, 'a')));
  for (const auto& bad : hostile) CHECK_FALSE(common::valid_branch(bad));
  CHECK(common::check_branch("a..b").error().message == "must not contain \"..\"");
}

TEST_CASE("refs are heads or tags with a valid name") {
  CHECK(common::valid_ref("refs/heads/main"));
  CHECK(common::valid_ref("refs/heads/feature/x"));
  CHECK(common::valid_ref("refs/tags/v1.0.0"));
  CHECK_FALSE(common::valid_ref("main"));
  CHECK_FALSE(common::valid_ref("refs/heads/"));
  CHECK_FALSE(common::valid_ref("refs/heads/../x"));
  CHECK_FALSE(common::valid_ref("refs/pull/1/head"));
  CHECK_FALSE(common::valid_ref("refs/remotes/origin/main"));
  CHECK_FALSE(common::valid_ref("refs/heads/-x"));
  for (const auto& bad : hostile) CHECK_FALSE(common::valid_ref("refs/heads/" + bad));
}

TEST_CASE("shas are 40 or 64 lowercase hex digits") {
  CHECK(common::valid_sha(std::string(40, 'a')));
  CHECK(common::valid_sha("0123456789abcdef0123456789abcdef01234567"));
  CHECK(common::valid_sha(std::string(64, '0')));
  CHECK_FALSE(common::valid_sha(std::string(39, 'a')));
  CHECK_FALSE(common::valid_sha(std::string(41, 'a')));
  CHECK_FALSE(common::valid_sha(std::string(40, 'A')));
  CHECK_FALSE(common::valid_sha(std::string(40, 'g')));
  CHECK_FALSE(common::valid_sha("HEAD"));
  for (const auto& bad : hostile) CHECK_FALSE(common::valid_sha(bad));
}

TEST_CASE("environment names and step names and timestamps") {
  CHECK(common::valid_env_name("INSTANCE_NAME"));
  CHECK(common::valid_env_name("_x1"));
  CHECK_FALSE(common::valid_env_name("1X"));
  CHECK_FALSE(common::valid_env_name("A-B"));
  CHECK_FALSE(common::valid_env_name("A=B"));
  CHECK(common::valid_step_name("install.server-1_a"));
  CHECK_FALSE(common::valid_step_name(".."));
  CHECK_FALSE(common::valid_step_name("a/b"));
  CHECK(common::valid_timestamp("2026-11-23T04:05:06.123456789Z"));
  CHECK(common::valid_timestamp("2026-11-23T04:05:06Z"));
  CHECK(common::valid_timestamp("2026-11-23T04:05:06.1Z"));
  CHECK_FALSE(common::valid_timestamp("2026-11-23T04:05:06.Z"));
  CHECK_FALSE(common::valid_timestamp("2026-11-23T04:05:06.1234567890Z"));
  CHECK_FALSE(common::valid_timestamp("2026-13-23T04:05:06Z"));
  CHECK_FALSE(common::valid_timestamp("2026-11-23T04:05:06+01:00"));
  CHECK_FALSE(common::valid_timestamp("2026-11-23 04:05:06Z"));
  for (const auto& bad : hostile) {
    CHECK_FALSE(common::valid_env_name(bad));
    CHECK_FALSE(common::valid_step_name(bad));
    CHECK_FALSE(common::valid_timestamp(bad));
  }
}
