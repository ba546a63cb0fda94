// enqueue and retry against real folders: what lands in the queue, in which form, what stays.
#include <catch2/catch.hpp>

#include <filesystem>

#include "common/entry.hpp"
#include "queue-layout/name.hpp"
#include "queue-layout/scan.hpp"
#include "tests/deployctl/helpers.hpp"

using deployctl_test::count_lines;
using deployctl_test::deployctl;
using deployctl_test::fake_sha;
using deployctl_test::push_entry;
using deployctl_test::Site;

namespace {

std::vector<std::string> entries(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  queue_layout::list_entries(dir, listing);
  return listing.entries;
}

std::vector<std::string> all_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("enqueue publishes a replay entry the deployer can take and prints its name") {
  Site site;
  const std::string upper = "ABCDEF0123456789ABCDEF0123456789ABCDEF01";
  // --no-check: a made-up commit, which the deployment's clone does not have.
  const auto result = deployctl(site.args({"enqueue", "site", "--sha", upper, "--no-check"}));
  INFO(result.err);
  REQUIRE(result.status == 0);
  CHECK(count_lines(result.out) == 1);
  const std::string name = result.out.substr(0, result.out.size() - 1);
  CHECK(queue_layout::is_entry_name(name));
  CHECK_THAT(name, Catch::Contains("-replay-"));
  // Only the entry itself: no temporary left behind.
  CHECK(all_names(site.layout.queue("site")) == std::vector<std::string>{name});

  const auto entry = common::parse_entry(test::read_file(site.layout.queue("site") / name));
  REQUIRE(entry.ok());
  CHECK(entry->meta.event == "push");
  CHECK_FALSE(entry->meta.id.has_value());  // an operator's entry, not a delivery
  const auto push = common::parse_push(entry->payload);
  REQUIRE(push.ok());
  CHECK(push->after == "abcdef0123456789abcdef0123456789abcdef01");
  CHECK(push->ref == "refs/heads/main");
  CHECK(push->repository == "example/site");
  CHECK(entry->payload["replay"] == true);
}

TEST_CASE("enqueue twice gives two entries in arrival order and honours --ref") {
  Site site;
  const auto a = deployctl(site.args({"enqueue", "site", "--sha", fake_sha('a'), "--no-check"}));
  const auto b = deployctl(site.args(
      {"enqueue", "site", "--sha", fake_sha('b'), "--ref", "refs/heads/hotfix", "--no-check"}));
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  const auto names = entries(site.layout.queue("site"));
  REQUIRE(names.size() == 2);
  CHECK(names[0] + "\n" == a.out);
  CHECK(names[1] + "\n" == b.out);
  const auto entry = common::parse_entry(test::read_file(site.layout.queue("site") / names[1]));
  REQUIRE(entry.ok());
  CHECK(common::parse_push(entry->payload)->ref == "refs/heads/hotfix");
}

TEST_CASE("enqueue into an unwritable queue fails with one line naming the folder") {
  Site site;
  // A file where the queues folder should be: nothing can be created below it, even as root.
  std::filesystem::create_directories(site.dir / "var");
  test::write_file(site.dir / "var" / "queues", "not a folder");
  const auto result =
      deployctl(site.args({"enqueue", "site", "--sha", fake_sha('c'), "--no-check"}));
  CHECK(result.status == 1);
  CHECK(result.out.empty());
  CHECK(count_lines(result.err) == 1);
  CHECK_THAT(result.err, Catch::Contains((site.dir / "var").string()));
}

TEST_CASE("enqueue refuses a commit the deployment's copy does not have, before writing") {
  Site site;
  const auto refused = deployctl(site.args({"enqueue", "site", "--sha", fake_sha('d')}));
  CHECK(refused.status == 1);
  CHECK(refused.out.empty());
  CHECK(count_lines(refused.err) == 1);
  CHECK_THAT(refused.err, Catch::Contains("commit " + fake_sha('d') + " is not in site's copy"));
  CHECK_THAT(refused.err, Catch::Contains("--no-check"));
  CHECK(entries(site.layout.queue("site")).empty());
  // A commit the clone has is queued.
  const auto queued = deployctl(site.args({"enqueue", "site", "--sha", site.first_sha}));
  INFO(queued.err);
  CHECK(queued.status == 0);
  CHECK(entries(site.layout.queue("site")).size() == 1);
}

TEST_CASE("retry moves every failed entry back in order and removes the error reports") {
  Site site;
  const auto failed = site.layout.failed("site");
  const std::string first = "00000000000000000001-d1.json";
  const std::string second = "00000000000000000002-d2.json";
  site.put(failed, first, push_entry(fake_sha('1'), "d1"));
  site.put(failed, queue_layout::error_name(first), R"({"reason": "exited with status 1"})");
  site.put(failed, second, push_entry(fake_sha('2'), "d2"));
  site.put(failed, queue_layout::error_name(second), R"({"reason": "timed out"})");
  site.put(failed, "weird.json", "{}");  // a quarantined stray: not retryable
  site.put(failed, "weird.json.reason", "not an entry name");

  const auto result = deployctl(site.args({"retry", "site"}));
  INFO(result.err);
  REQUIRE(result.status == 0);
  CHECK(result.out == "retrying " + first + "\nretrying " + second + "\n");
  CHECK(entries(site.layout.queue("site")) == std::vector<std::string>{first, second});
  CHECK(all_names(failed) == std::vector<std::string>{"weird.json", "weird.json.reason"});
  // The stray stays, and retry says what to do with it.
  CHECK_THAT(result.err, Catch::Contains("1 quarantined file(s) left in " + failed.string()));
  CHECK_THAT(result.err, Catch::Contains(".reason"));
  // The bytes are the same file, moved (a hard link keeps the inode's content).
  CHECK(test::read_file(site.layout.queue("site") / first) == push_entry(fake_sha('1'), "d1"));

  const auto again = deployctl(site.args({"retry", "site"}));
  CHECK(again.status == 0);
  CHECK_THAT(again.out, Catch::StartsWith("no failed entries"));
}

TEST_CASE("retry of named entries checks them all before moving any") {
  Site site;
  const auto failed = site.layout.failed("site");
  const std::string present = "00000000000000000001-d1.json";
  site.put(failed, present, push_entry(fake_sha('1')));
  site.put(failed, queue_layout::error_name(present), "{}");

  SECTION("one of them is missing: nothing moves, exit 1") {
    const auto result =
        deployctl(site.args({"retry", "site", present, "00000000000000000009-d9.json"}));
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::Contains("no failed entry 00000000000000000009-d9.json in " +
                                           failed.string()));
    CHECK(entries(failed) == std::vector<std::string>{present});
    CHECK(entries(site.layout.queue("site")).empty());
  }
  SECTION("the name without .json is accepted") {
    const auto result = deployctl(site.args({"retry", "site", "00000000000000000001-d1"}));
    CHECK(result.status == 0);
    CHECK(entries(site.layout.queue("site")) == std::vector<std::string>{present});
    CHECK(all_names(failed).empty());
  }
  SECTION("a different file of that name already in the queue is not replaced") {
    site.put(site.layout.queue("site"), present, "other bytes");
    const auto result = deployctl(site.args({"retry", "site", present}));
    CHECK(result.status == 1);
    CHECK(count_lines(result.err) == 1);
    CHECK(test::read_file(site.layout.queue("site") / present) == "other bytes");
    CHECK(entries(failed) == std::vector<std::string>{present});
  }
}
