// deployctl releases and deployctl rollback on a release-mode site whose folders the test lays
// out itself (complete releases hold REVISION, `current` names the live one): the listing and its
// JSON shape, the rollback entry (format, target checks, usage errors). The deployer taking such
// entries is tested in tests/deployer/release_test.cpp.
#include <catch2/catch.hpp>

#include "common/entry.hpp"
#include "common/rollback_entry.hpp"
#include "queue-layout/scan.hpp"
#include "tests/deployctl/helpers.hpp"

using deployctl_test::deployctl;
using deployctl_test::fake_sha;
using deployctl_test::Site;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

// A site in release mode with three complete releases (and an incomplete one), the middle one
// live.
struct ReleaseSite {
  Site site;
  fs::path root = site.dir / "app-root";
  std::vector<std::string> names = {"20261206T010000.000Z-aaaaaaaaaaaa",
                                    "20261206T020000.000Z-bbbbbbbbbbbb",
                                    "20261206T030000.000Z-cccccccccccc"};
  ReleaseSite() {
    auto config = json::parse(test::read_file(site.config));
    config["deployments"]["site"]["path"] = root.string();
    config["deployments"]["site"]["releases"] = {{"keep", 3}};
    test::write_file(site.config, config.dump(2));
    const char digits[] = {'a', 'b', 'c'};
    for (int i = 0; i < 3; ++i) {
      fs::create_directories(root / "releases" / names[i]);
      test::write_file(root / "releases" / names[i] / "REVISION", fake_sha(digits[i]) + "\n");
    }
    fs::create_directories(root / "releases/20261206T040000.000Z-dddddddddddd");  // incomplete
    fs::create_symlink("releases/" + names[1], root / "current");
  }
  std::vector<std::string> queued() const {
    queue_layout::Listing listing;
    (void)queue_layout::list_entries(site.layout.queue("site"), listing);
    return listing.entries;
  }
};

}  // namespace

TEST_CASE("deployctl releases lists the kept releases newest first with the live one marked") {
  ReleaseSite r;
  const auto out = deployctl(r.site.args({"releases", "site", "--json"}),
                             {{"DATABASE_URL", "host=/nonexistent dbname=x"}});
  REQUIRE(out.status == 0);
  const auto list = json::parse(out.out);
  CHECK(list["deployment"] == "site");
  CHECK(list["root"] == r.root.string());
  CHECK(list["live"] == r.names[1]);
  REQUIRE(list["releases"].size() == 3);
  CHECK(list["releases"][0] == json{{"name", r.names[2]},
                                    {"commit", fake_sha('c')},
                                    {"created", "2026-12-06T03:00:00.000Z"},
                                    {"outcome", nullptr},
                                    {"live", false}});
  CHECK(list["releases"][1]["live"] == true);
  CHECK(list["releases"][2]["name"] == r.names[0]);
  CHECK(list["database"]["reachable"] == false);
  const auto text = deployctl(r.site.args({"releases", "site"}),
                              {{"DATABASE_URL", "host=/nonexistent dbname=x"}});
  CHECK(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("* " + r.names[1] + "  bbbbbbbbbbbb"));
  CHECK_THAT(text.out, Catch::Contains("note: outcomes unknown"));
}

TEST_CASE("deployctl rollback queues a rollback entry for the previous or the named release") {
  ReleaseSite r;
  auto out = deployctl(r.site.args({"rollback", "site"}));
  REQUIRE(out.status == 0);
  CHECK_THAT(out.err, Catch::Contains("to release " + r.names[0]));
  const std::string name = out.out.substr(0, out.out.find('\n'));
  CHECK(r.queued() == std::vector<std::string>{name});
  const auto entry = common::parse_entry(test::read_file(r.site.layout.queue("site") / name));
  REQUIRE(entry.ok());
  CHECK(entry->meta.event == "rollback");
  CHECK_FALSE(entry->meta.id);
  const auto request = common::parse_rollback(entry->payload);
  REQUIRE(request.ok());
  CHECK(request->repository == "example/site");
  CHECK_FALSE(request->to);
  CHECK_FALSE(request->requested_by.empty());

  out = deployctl(r.site.args({"rollback", "site", "--to", "CCCCCCC"}));
  REQUIRE(out.status == 0);
  CHECK_THAT(out.err, Catch::Contains("to release " + r.names[2]));
  out = deployctl(r.site.args({"rollback", "site", "--to", r.names[0]}));
  REQUIRE(out.status == 0);
  CHECK(r.queued().size() == 3);
  const auto last =
      common::parse_entry(test::read_file(r.site.layout.queue("site") / r.queued()[2]));
  CHECK(common::parse_rollback(last->payload)->to == r.names[0]);

  // Targets that are not kept, complete releases: one error line, nothing queued.
  for (const std::string& bad :
       {std::string("dddddddd"), std::string("20261206T040000.000Z-dddddddddddd")}) {
    INFO(bad);
    out = deployctl(r.site.args({"rollback", "site", "--to", bad}));
    CHECK(out.status == 1);
    CHECK(deployctl_test::count_lines(out.err) == 1);
  }
  out = deployctl(r.site.args({"rollback", "site", "--to", "not-a-commit"}));
  CHECK(out.status == 2);
  CHECK(r.queued().size() == 3);
}

TEST_CASE("deployctl rollback and releases refuse a deployment that deploys in place") {
  Site site;
  auto out = deployctl(site.args({"rollback", "site"}));
  CHECK(out.status == 1);
  CHECK_THAT(out.err, Catch::Contains("not in release mode"));
  out = deployctl(site.args({"releases", "site"}));
  CHECK(out.status == 1);
}
