// status_counters.cpp: the receiver's status counters file (status_counters.hpp).
#include "common/status_counters.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace common {

std::filesystem::path receiver_counters_file(const std::filesystem::path& state_dir) {
  return state_dir / "metrics" / "receiver.json";
}

StatusCounters::StatusCounters(std::filesystem::path file) : file_(std::move(file)) {
  // Like every folder of the state directory: only the pipeline's user may look inside.
  ::mkdir(file_.parent_path().c_str(), 0700);
  for (const auto& [status, count] : read(file_)) counts_[status] = count;
  for (const auto& c : counts_) written_total_ += c.load(std::memory_order_relaxed);
  thread_ = std::thread([this] { loop(); });
}

StatusCounters::~StatusCounters() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  write();
}

void StatusCounters::count(unsigned status) noexcept {
  if (status >= 100 && status < counts_.size()) {
    counts_[status].fetch_add(1, std::memory_order_relaxed);
  }
}

std::map<unsigned, std::uint64_t> StatusCounters::read(const std::filesystem::path& file) {
  std::map<unsigned, std::uint64_t> out;
  std::ifstream in(file);
  if (!in) return out;
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (!json.is_object() || !json.contains("responses") || !json["responses"].is_object())
    return out;
  for (const auto& [key, value] : json["responses"].items()) {
    unsigned status = 0;
    if (std::sscanf(key.c_str(), "%u", &status) != 1 || status < 100 || status > 599) continue;
    if (value.is_number_unsigned()) out[status] = value.get<std::uint64_t>();
  }
  return out;
}

void StatusCounters::write() {
  nlohmann::json responses = nlohmann::json::object();
  std::uint64_t total = 0;
  for (unsigned status = 100; status < counts_.size(); ++status) {
    const auto n = counts_[status].load(std::memory_order_relaxed);
    if (n != 0) responses[std::to_string(status)] = n;
    total += n;
  }
  if (total == written_total_ && std::filesystem::exists(file_)) return;
  // Whole-file replacement: a reader sees the old or the new counts, never a mixture.
  // Appended piece by piece: GCC 12 at -O2 warns (-Wrestrict) on "." + string, wrongly.
  std::string temporary_name = ".";
  temporary_name += file_.filename().string();
  temporary_name += ".tmp";
  const auto temporary = file_.parent_path() / temporary_name;
  const std::string text = nlohmann::json{{"responses", responses}}.dump() + "\n";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool written =
      fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0 && ::close(fd) != 0) {
    failed("cannot write " + temporary.string());
    return;
  }
  if (!written) {
    failed("cannot write " + temporary.string());
    return;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, file_, ec);
  if (ec) {
    failed("cannot replace " + file_.string() + ": " + ec.message());
    return;
  }
  if (failing_) common::log::info("the counters file is written again", {{"file", file_.string()}});
  failing_ = false;
  written_total_ = total;
}

// One line when writing starts failing (a full disk), not one a second.
void StatusCounters::failed(const std::string& what) {
  if (!failing_) common::log::warn("counters file not written", {{"error", what}});
  failing_ = true;
}

void StatusCounters::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    if (!stopping_) write();
  }
}

}  // namespace common
