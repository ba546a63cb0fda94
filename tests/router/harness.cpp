// Harness for the router's integration tests (see harness.hpp).
#include "tests/router/harness.hpp"

#include <csignal>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/entry.hpp"
#include "common/ledger/migrations.hpp"
#include "common/timefmt.hpp"
#include "queue-layout/scan.hpp"

namespace router_test {
namespace {

std::string config_text(const std::vector<DeploymentSpec>& deployments, std::uint32_t settle_ms,
                        const std::filesystem::path& www) {
  nlohmann::json config = {
      {"instance", "router-test"},
      {"state_dir", "state"},
      {"router", {{"settle_ms", settle_ms}, {"rescan_s", 30}}},
  };
  config["deployments"] = nlohmann::json::object();
  for (const auto& d : deployments) {
    config["deployments"][d.name] = {
        {"repository", d.repository},
        {"branch", d.branch},
        {"path", (www / d.name).string()},
        {"enabled", d.enabled},
        {"tags", d.tags},
        {"deletions", d.deletions},
        {"steps", nlohmann::json::array()},
    };
    if (d.wait_for_checks) config["deployments"][d.name]["wait_for_checks"] = "all";
  }
  return config.dump(2);
}

}  // namespace

RouterEnv::RouterEnv(std::vector<DeploymentSpec> deployments, std::uint32_t settle_ms,
                     std::string database_url)
    : temp_("router-test"), layout_(temp_ / "state") {
  if (database_url.empty()) {
    database_ = std::make_unique<test::Database>();
    url_ = database_->url();
    ledger::migrate(url_);
  } else {
    url_ = std::move(database_url);
  }
  std::filesystem::create_directories(scratch());
  test::write_file(temp_ / "deployer.json", config_text(deployments, settle_ms, temp_ / "www"));
  // The inbox exists before the router starts, as with a receiver running first.
  std::filesystem::create_directories(inbox());
}

RouterEnv::~RouterEnv() {
  ledger_.reset();
  child_.reset();  // SIGKILL if a test failed half-way
}

std::string RouterEnv::log() const {
  std::error_code ec;
  if (!std::filesystem::exists(log_file(), ec)) return "";
  return test::read_file(log_file());
}

ledger::Ledger& RouterEnv::ledger() {
  if (!ledger_) ledger_ = std::make_unique<ledger::Ledger>(url_);
  return *ledger_;
}

void RouterEnv::start() {
  if (child_ && child_->running()) throw std::logic_error("RouterEnv::start: already running");
  child_.reset();
  child_.emplace(
      std::vector<std::string>{test::bin("router").string(), "--config",
                               (temp_ / "deployer.json").string()},
      std::map<std::string, std::string>{
          {"DATABASE_URL", url_}, {"DEPLOY_ALLOW_ROOT", "1"}, {"DEPLOY_LOG_LEVEL", "info"}},
      log_file());
}

int RouterEnv::stop(int signal, std::chrono::milliseconds timeout) {
  if (!child_) return -1;
  child_->signal(signal);
  const auto status = child_->wait(timeout);
  child_.reset();
  return status.value_or(-1);
}

void RouterEnv::kill9() {
  if (child_) child_->kill();
  child_.reset();
}

bool RouterEnv::running() {
  return child_ && child_->running();
}

std::string RouterEnv::next_name(const std::string& uniquifier) {
  return clock_.next(uniquifier);
}

std::string RouterEnv::publish(const std::string& text, const std::string& uniquifier) {
  const std::string name = clock_.next(uniquifier);
  // The receiver's protocol without its fsyncs: atomic for the router (a dot-temporary renamed
  // into place), but not durable, which tests do not need and which would make a 1,000-entry
  // setup take seconds on a busy disk.
  const auto temporary = inbox() / ("." + name + ".tmp");
  test::write_file(temporary, text);
  std::filesystem::rename(temporary, inbox() / name);
  return name;
}

std::vector<std::string> RouterEnv::entries(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  if (const auto ec = queue_layout::list_entries(dir, listing)) {
    if (ec == std::errc::no_such_file_or_directory) return {};
    throw std::system_error(ec, "list " + dir.string());
  }
  return listing.entries;
}

std::vector<std::string> RouterEnv::files(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool RouterEnv::wait_inbox_empty(std::chrono::milliseconds timeout) {
  return test::eventually(
      [&] {
        queue_layout::Listing listing;
        if (queue_layout::list_entries(inbox(), listing)) return false;
        return listing.entries.empty() && listing.strays.empty();
      },
      timeout);
}

int RouterEnv::count_log(const std::string& needle) const {
  const std::string text = log();
  int count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

bool RouterEnv::wait_log(const std::string& needle, int count, std::chrono::milliseconds timeout) {
  return test::eventually([&] { return count_log(needle) >= count; }, timeout);
}

std::vector<ledger::DeliveryRecord> RouterEnv::receipts(const std::string& id) {
  return ledger().delivery_story(id).receipts;
}

std::string sha(unsigned n) {
  char buffer[41];
  std::snprintf(buffer, sizeof buffer, "%08x%032x", n, 0xabcU);
  return std::string(buffer, 40);
}

std::string push_entry(const std::string& id, const PushSpec& push, const std::string& hook_id) {
  static unsigned counter = 1;
  const nlohmann::json payload = {
      {"ref", push.ref},
      {"before", sha(0)},
      {"after",
       push.deleted ? std::string(40, '0') : (push.after.empty() ? sha(counter++) : push.after)},
      {"deleted", push.deleted},
      {"created", false},
      {"forced", false},
      {"repository", {{"full_name", push.repository}, {"name", "durhack"}}},
  };
  common::EntryMeta meta;
  if (!id.empty()) meta.id = id;
  meta.event = "push";
  meta.received_at = common::utc_timestamp_ns(std::chrono::system_clock::now());
  if (!id.empty() && !hook_id.empty()) meta.hook_id = hook_id;
  return common::write_entry(meta, payload.dump());
}

std::string event_entry(const std::string& id, const std::string& event,
                        const std::string& payload_json, const std::string& hook_id) {
  common::EntryMeta meta;
  if (!id.empty()) meta.id = id;
  meta.event = event;
  meta.received_at = common::utc_timestamp_ns(std::chrono::system_clock::now());
  if (!hook_id.empty()) meta.hook_id = hook_id;
  return common::write_entry(meta, payload_json);
}

}  // namespace router_test
