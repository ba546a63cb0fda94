// Real processes against one folder: two publishers at once (20,000 distinct, ordered, complete
// entries) and a publisher killed with SIGKILL at random moments (never a partial entry; its
// temporaries removed by recovery).
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "queue-layout/recover.hpp"
#include "queue-layout/scan.hpp"
#include "tests/queue/helpers.hpp"
#include "tests/queue/payload.hpp"
#include "tests/support/child.hpp"
#include "tests/support/seed.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

enum class Sync { on, off };

test::Child start_publisher(const std::filesystem::path& dir, long count, const std::string& tag,
                            std::size_t size, const std::filesystem::path& log, Sync sync) {
  std::vector<std::string> argv = {QUEUE_TEST_PUBLISHER, dir.string(), std::to_string(count), tag,
                                   std::to_string(size)};
  if (sync == Sync::off) argv.push_back("nosync");
  return test::Child(argv, {}, log);
}

std::string tag_of(const std::string& name) {
  // "<20 digits>-<tag>-<n>.json"
  const auto rest = name.substr(21);
  return rest.substr(0, rest.find('-'));
}

}  // namespace

TEST_CASE("two processes publishing 10,000 entries each produce 20,000 ordered, complete entries") {
  test::TempDir tmp("queue-procs");
  const auto dir = tmp / "inbox";
  std::filesystem::create_directory(dir);
  constexpr long kEach = 10'000;
  constexpr std::size_t kSize = 300;
  // Without fsync (see publisher.cpp): this is about two processes racing on one folder; the
  // durability order is proven by publish_test.cpp.
  test::Child a = start_publisher(dir, kEach, "a", kSize, tmp / "a.log", Sync::off);
  test::Child b = start_publisher(dir, kEach, "b", kSize, tmp / "b.log", Sync::off);
  const auto status_a = a.wait(100s);
  const auto status_b = b.wait(100s);
  INFO("a.log: " << test::read_file(tmp / "a.log") << " b.log: " << test::read_file(tmp / "b.log"));
  REQUIRE(status_a == 0);
  REQUIRE(status_b == 0);

  queue_layout::Listing listing;
  REQUIRE_FALSE(queue_layout::list_entries(dir, listing));
  REQUIRE(listing.entries.size() == 2 * kEach);  // distinct: one folder cannot hold a name twice
  CHECK(listing.strays.empty());
  CHECK(queue_test::dot_files(dir).empty());
  // In byte order, each publisher's entries appear in the order it published them.
  std::map<std::string, long> last_seq;
  std::size_t bad = 0;
  for (const auto& name : listing.entries) {
    const std::string tag = tag_of(name);
    const long seq = queue_test::sequence_of(name);
    if (seq != last_seq[tag] + 1) ++bad;
    last_seq[tag] = seq;
    if (queue_test::contents(dir, name) != queue_test::payload_for(name, kSize)) ++bad;
  }
  CHECK(bad == 0);
  CHECK(last_seq["a"] == kEach);
  CHECK(last_seq["b"] == kEach);
}

TEST_CASE("a publisher killed with SIGKILL at random moments never leaves a partial entry") {
  test::TempDir tmp("queue-kill");
  const auto dir = tmp / "inbox";
  std::filesystem::create_directory(dir);
  std::mt19937 random(test::seed());
  std::uniform_int_distribution<int> delay_us(0, 20'000);
  std::uniform_int_distribution<std::size_t> size(1, 512 * 1024);

  std::set<std::string> temporaries_seen;  // how often a kill landed mid-publish
  for (int round = 0; round < 30; ++round) {
    const std::string tag = std::string("k").append(std::to_string(round));
    // With fsync: it widens the window between creating the temporary and renaming it.
    test::Child child = start_publisher(dir, 0, tag, size(random), tmp / "k.log", Sync::on);
    // Wait until this round's publisher is at work (its first temporary or entry appears), so
    // the kill lands mid-stream even when a loaded machine starts processes slowly.
    const std::string marker = "-" + tag + "-1.json";
    const bool started = test::eventually(
        [&] {
          for (const auto& e : std::filesystem::directory_iterator(dir)) {
            if (e.path().filename().string().find(marker) != std::string::npos) return true;
          }
          return false;
        },
        20s);
    REQUIRE(started);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    child.kill();  // SIGKILL, then reaped: its pid is dead from here on
    for (const auto& t : queue_test::dot_files(dir)) temporaries_seen.insert(t);
  }

  queue_layout::Listing listing;
  REQUIRE_FALSE(queue_layout::list_entries(dir, listing));
  INFO(listing.entries.size() << " entries, " << temporaries_seen.size()
                              << " temporaries left by kills");
  CHECK(listing.strays.empty());
  std::size_t partial = 0;
  for (const auto& name : listing.entries) {
    const std::string bytes = queue_test::contents(dir, name);
    // The size is not in the name: the payload must be exactly what payload_for makes at its size.
    if (bytes != queue_test::payload_for(name, bytes.size())) ++partial;
  }
  CHECK(partial == 0);
  CHECK_FALSE(listing.entries.empty());

  const auto leftovers = queue_test::dot_files(dir).size();
  CHECK(queue_layout::remove_stale_temporaries(dir) == leftovers);
  CHECK(queue_test::dot_files(dir).empty());
}
