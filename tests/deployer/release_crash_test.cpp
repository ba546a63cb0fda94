// kill -9 of the real deployer at every stage of a release deploy and of a rollback: at every
// instant `current` names a complete release (a folder holding REVISION), checked by a sampler
// thread all along and again right after each kill; the restarted deployer runs the entry left in
// active/ again until it is deployed, and the new version answers. The kill points are the run
// log's markers of each stage (checkout, step, preflight, switch, activate, health check), then
// a sweep of kill times over a whole deploy and a rollback.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <thread>

#include "tests/deployer/release_site.hpp"

using nlohmann::json;
using test::deployer::get;
using test::deployer::ReleaseSite;
using test::deployer::sh_step;

namespace {

namespace fs = std::filesystem;

// Whether `current` names a complete release now ("" if so, else what is wrong). No `current`
// yet counts as fine only before the first deploy.
std::string check_current(const fs::path& root, bool may_be_missing) {
  std::error_code ec;
  const auto target = fs::read_symlink(root / "current", ec);
  if (ec) return may_be_missing ? "" : "current: " + ec.message();
  std::ifstream in(root / target / "REVISION");
  std::string sha;
  if (!in || !std::getline(in, sha) || sha.size() != 40) {
    return "current -> " + target.string() + " which has no REVISION";
  }
  return "";
}

// Samples `current` every millisecond on a thread of its own; remembers the first violation.
class Sampler {
 public:
  explicit Sampler(fs::path root) : root_(std::move(root)), thread_([this] { loop(); }) {}
  ~Sampler() {
    done_ = true;
    thread_.join();
  }
  std::string violation() {
    std::lock_guard lock(mutex_);
    return violation_;
  }
  std::size_t samples() const { return samples_; }

 private:
  void loop() {
    while (!done_) {
      auto problem = check_current(root_, false);
      ++samples_;
      if (!problem.empty()) {
        std::lock_guard lock(mutex_);
        if (violation_.empty()) violation_ = problem;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  fs::path root_;
  std::atomic<bool> done_{false};
  std::atomic<std::size_t> samples_{0};
  std::mutex mutex_;
  std::string violation_;
  std::thread thread_;
};

// Processes the killed deployer left behind (its step's or preflight's group, orphaned): those
// whose working folder is inside the deployment's releases, except the live app. Killed by pid.
void kill_orphans(const fs::path& root, int app_pid) {
  const std::string releases = fs::canonical(root / "releases").string() + "/";
  for (const auto& item : fs::directory_iterator("/proc")) {
    const std::string name = item.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int pid = std::stoi(name);
    if (pid == app_pid) continue;
    std::error_code ec;
    const auto cwd = fs::read_symlink(item.path() / "cwd", ec).string();
    if (!ec && cwd.starts_with(releases)) ::kill(pid, SIGKILL);
  }
}

// Waits until the deployer's lock can be taken (and releases it at once): the restarted deployer
// refuses to start while anything holds it. When it stays held, says which processes hold an
// open descriptor of it, so a failure names the culprit instead of timing out later.
std::string wait_lock_free(const fs::path& lock) {
  const bool free = test::eventually(
      [&] {
        const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) return errno == ENOENT;
        const bool taken = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
        ::close(fd);  // closing releases the flock
        return taken;
      },
      std::chrono::seconds(10));
  if (free) return "";
  std::string holders;
  for (const auto& process : fs::directory_iterator("/proc")) {
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator(process.path() / "fd", ec)) {
      if (fs::read_symlink(fd.path(), ec) != lock) continue;
      std::string comm = test::read_file(process.path() / "comm");
      // Appended piece by piece: GCC 12's -Wrestrict misfires on `" " + std::string`.
      holders += ' ';
      holders += process.path().filename().string();
      holders += " (";
      holders += comm.substr(0, comm.find('\n'));
      holders += ')';
    }
  }
  return lock.string() + " still held after 10 s by:" + holders;
}

int app_pid(const fs::path& root) {
  std::ifstream in(root / "app.pid");
  int pid = 0;
  in >> pid;
  return pid;
}

}  // namespace

TEST_CASE("kill -9 at every stage of a release deploy and a rollback leaves current complete",
          "[deployer][releases][crash]") {
  ReleaseSite site;
  auto& h = site.h;
  site.with_app();
  h.deployment_extra["releases"]["keep"] = 30;  // enough older releases for every rollback
  // A step slow enough to be killed in, and a health check that needs a few answers.
  h.steps = json::array({sh_step("build", "sleep 0.3; echo built > built.txt")});
  h.deployment_extra["health_check"]["successes"] = 3;
  const auto first = site.commit("v0");
  auto deployer = std::make_unique<test::Child>(h.start());
  REQUIRE(h.wait_in("done", h.webhook_push(first), std::chrono::seconds(60)));
  Sampler sampler(h.app());

  auto kill_and_check = [&](const std::string& why) {
    deployer->kill();
    INFO("killed " << why);
    CHECK(check_current(h.app(), false).empty());
    kill_orphans(h.app(), app_pid(h.app()));
    const auto held = wait_lock_free(h.tmp / "var" / "locks" / "deployer-app.lock");
    INFO(held);
    CHECK(held.empty());
    deployer = std::make_unique<test::Child>(h.start());
  };

  // 1. At each stage's marker in the run log.
  const std::vector<std::string> markers = {
      "--work-tree=",               // the checkout into the new release
      "=== step 1/1 build:",        // a step
      "=== preflight: ",            // the preflight running
      "=== current -> releases/",   // right after the switch
      "=== activate 1/1 restart:",  // the activate step
      "=== health check: polling",  // the health check
  };
  int version = 1;
  for (const auto& marker : markers) {
    std::string v = "v";  // appended, not "v" + ...: GCC 12's -Wrestrict misfires on that
    v += std::to_string(version++);
    const auto sha = site.commit(v);
    const auto entry = h.webhook_push(sha);
    const auto log = h.dir("logs") / (entry + ".log");
    REQUIRE(test::eventually(
        [&] {
          std::error_code ec;
          return fs::exists(log, ec) && test::read_file(log).find(marker) != std::string::npos;
        },
        std::chrono::seconds(30)));
    kill_and_check(marker);
    REQUIRE(h.wait_in("done", entry, std::chrono::seconds(60)));
    CHECK(site.live_revision() == sha);
    CHECK(test::eventually([&] { return get(site.port) == "200 " + v + " " + sha; }));
  }

  // 2. A sweep of kill times over whole deploys.
  for (int delay_ms : {40, 120, 250, 400, 600, 900, 1300}) {
    std::string v = "v";  // appended, not "v" + ...: GCC 12's -Wrestrict misfires on that
    v += std::to_string(version++);
    const auto sha = site.commit(v);
    const auto entry = h.webhook_push(sha);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill_and_check("after " + std::to_string(delay_ms) + " ms");
    REQUIRE(h.wait_in("done", entry, std::chrono::seconds(60)));
    CHECK(site.live_revision() == sha);
  }

  // 3. Rollbacks killed at the switch, in activate, in the health check, and by time.
  const std::vector<std::string> rollback_markers = {
      "=== current -> releases/", "=== activate 1/1 restart:", "=== health check: polling"};
  for (const auto& marker : rollback_markers) {
    const auto before = site.live_release();
    const auto entry = site.rollback();
    const auto log = h.dir("logs") / (entry + ".log");
    REQUIRE(test::eventually(
        [&] {
          std::error_code ec;
          return fs::exists(log, ec) && test::read_file(log).find(marker) != std::string::npos;
        },
        std::chrono::seconds(30)));
    kill_and_check("rollback at " + marker);
    REQUIRE(h.wait_in("done", entry, std::chrono::seconds(60)));
    CHECK(site.live_release() < before);
    const auto sha = site.live_revision();
    CHECK(test::eventually([&] { return get(site.port).ends_with(sha); }));
  }
  for (int delay_ms : {30, 150, 400}) {
    const auto entry = site.rollback();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill_and_check("rollback after " + std::to_string(delay_ms) + " ms");
    REQUIRE(h.wait_in("done", entry, std::chrono::seconds(60)));
  }

  CHECK(sampler.samples() > 100);
  CHECK(sampler.violation().empty());
  // No incomplete release folder is left once the last run is over (they are removed by the
  // next build; after a rollback none was started).
  for (const auto& item : fs::directory_iterator(h.app() / "releases")) {
    INFO(item.path());
    CHECK(fs::exists(item.path() / "REVISION"));
  }
}
