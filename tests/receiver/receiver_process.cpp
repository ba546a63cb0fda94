// receiver_process.cpp: starting and inspecting the real receiver for tests (see the header).
#include "tests/receiver/receiver_process.hpp"

#include <algorithm>
#include <stdexcept>

#include "queue-layout/scan.hpp"

namespace test {

ReceiverProcess::ReceiverProcess(ReceiverOptions options) : options_(std::move(options)) {
  port_ = free_port();
  nlohmann::json receiver = {{"publish_threads", 4}};
  receiver.update(options_.receiver);
  nlohmann::json config = {
      {"instance", "receiver-test"},
      {"state_dir", "var"},
      {"allow_root", true},
      {"listen", {{"host", "127.0.0.1"}, {"port", port_}}},
      {"receiver", receiver},
      {"deployments",
       {{"site",
         {{"repository", "ducompsoc/durhack"},
          {"branch", "main"},
          {"path", (dir_ / "site").string()},
          {"steps", nlohmann::json::array()}}}}},
  };
  for (const auto& [key, value] : options_.top.items()) config[key] = value;
  config_ = dir_ / "deployer.json";
  write_file(config_, config.dump(2));
  if (options_.start) start();
}

void ReceiverProcess::start() {
  std::map<std::string, std::string> env = options_.env;
  if (options_.with_secret) env.emplace("WEBHOOK_SECRET", kReceiverSecret);
  child_.reset();
  child_.emplace(std::vector<std::string>{bin("receiver").string(), "--config", config_.string()},
                 env, dir_ / "receiver.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child_->running()) {
      throw std::runtime_error("receiver exited during startup; log:\n" + log());
    }
    if (http::wait_for_port(port_, std::chrono::milliseconds(100))) return;
  }
  throw std::runtime_error("receiver did not listen on port " + std::to_string(port_) + "; log:\n" +
                           log());
}

std::optional<int> ReceiverProcess::stop(int signal, std::chrono::milliseconds timeout) {
  child_->signal(signal);
  return child_->wait(timeout);
}

void ReceiverProcess::kill() {
  child_->kill();
}

std::string ReceiverProcess::log() const {
  std::error_code ec;
  if (!std::filesystem::exists(dir_ / "receiver.log", ec)) return {};
  return read_file(dir_ / "receiver.log");
}

std::vector<std::string> ReceiverProcess::entries() const {
  queue_layout::Listing listing;
  if (auto ec = queue_layout::list_entries(inbox(), listing)) {
    throw std::runtime_error("cannot list " + inbox().string() + ": " + ec.message());
  }
  return listing.entries;
}

std::vector<std::string> ReceiverProcess::all_files() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(inbox(), ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReceiverProcess::entry_text(const std::string& name) const {
  return read_file(inbox() / name);
}

http::Webhook ReceiverProcess::webhook(std::string body) const {
  http::Webhook hook;
  hook.secret = kReceiverSecret;
  if (!body.empty()) hook.body = std::move(body);
  return hook;
}

http::Response ReceiverProcess::send(const std::string& raw) const {
  return http::roundtrip(port_, raw);
}

}  // namespace test
