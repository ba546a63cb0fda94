// browser.cpp: see browser.hpp.
#include "tests/dashboard/browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace dashboard_test {
namespace {

using namespace std::chrono_literals;

constexpr auto kCallTimeout = 30s;

std::string decode_base64(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("chromium sent bad base64");
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (text.ends_with("==")) {
    size -= 2;
  } else if (text.ends_with("=")) {
    size -= 1;
  }
  out.resize(size);
  return out;
}

}  // namespace

bool have_chromium() {
  return ::access("/usr/bin/chromium", X_OK) == 0;
}

Browser::Browser(const std::filesystem::path& profile, const std::filesystem::path& log) {
  if (!have_chromium())
    throw std::runtime_error("/usr/bin/chromium is not installed (scripts/setup.sh installs it)");
  int to[2];
  int from[2];
  if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> args{"/usr/bin/chromium",
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--disable-dev-shm-usage",
                                "--user-data-dir=" + profile.string(),
                                "--remote-debugging-pipe",
                                "about:blank"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    // fd 3: commands in, fd 4: answers out (dup2 clears close-on-exec on the copies).
    ::dup2(to[0], 3);
    ::dup2(from[1], 4);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
  ::close(to[0]);
  ::close(from[1]);
  if (out >= 0) ::close(out);
  to_browser_ = to[1];
  from_browser_ = from[0];
  const auto target = command("Target.createTarget", {{"url", "about:blank"}}, "");
  const auto attached = command("Target.attachToTarget",
                                {{"targetId", target.at("targetId")}, {"flatten", true}}, "");
  session_ = attached.at("sessionId").get<std::string>();
  call("Page.enable");
  call("Runtime.enable");
  phone(false);
}

Browser::~Browser() {
  if (pid_ > 0) {
    const pid_t group = pid_;
    try {
      command("Browser.close", nlohmann::json::object(), "");
    } catch (...) {
    }
    // Give it a moment to exit by itself, then make sure of it.
    bool reaped = false;
    for (int i = 0; i < 50 && !reaped; ++i) {
      reaped = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
      if (!reaped) std::this_thread::sleep_for(100ms);
    }
    // The helpers it started (zygote, renderers) are in its process group, which we created.
    ::kill(-group, SIGKILL);
    if (!reaped) ::waitpid(pid_, nullptr, 0);
  }
  if (to_browser_ >= 0) ::close(to_browser_);
  if (from_browser_ >= 0) ::close(from_browser_);
}

nlohmann::json Browser::read_message(std::chrono::steady_clock::time_point deadline) {
  while (true) {
    const auto end = buffer_.find('\0');
    if (end != std::string::npos) {
      auto message = nlohmann::json::parse(buffer_.substr(0, end));
      buffer_.erase(0, end + 1);
      return message;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("chromium did not answer in time");
    pollfd fd{from_browser_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::read(from_browser_, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error("chromium closed its DevTools pipe");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

nlohmann::json Browser::command(const std::string& method, const nlohmann::json& params,
                                const std::string& session) {
  const int id = next_id_++;
  nlohmann::json message{{"id", id}, {"method", method}, {"params", params}};
  if (!session.empty()) message["sessionId"] = session;
  const std::string text = message.dump() + std::string(1, '\0');
  std::size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = ::write(to_browser_, text.data() + sent, text.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot write to chromium");
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + kCallTimeout;
  while (true) {
    auto answer = read_message(deadline);
    if (!answer.contains("id") || answer["id"] != id) continue;  // an event, or another answer
    if (answer.contains("error")) {
      throw std::runtime_error("chromium: " + method + ": " + answer["error"].dump());
    }
    return answer.value("result", nlohmann::json::object());
  }
}

nlohmann::json Browser::call(const std::string& method, const nlohmann::json& params) {
  return command(method, params, session_);
}

nlohmann::json Browser::evaluate(const std::string& expression) {
  const auto result =
      call("Runtime.evaluate",
           {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (result.contains("exceptionDetails")) {
    throw std::runtime_error("javascript failed: " + result["exceptionDetails"].dump());
  }
  return result["result"].value("value", nlohmann::json());
}

void Browser::navigate(const std::string& url) {
  call("Page.navigate", {{"url", url}});
  if (!wait_until("document.readyState === 'complete' && location.href !== 'about:blank'", 30s)) {
    throw std::runtime_error("the page did not load: " + url);
  }
}

bool Browser::wait_until(const std::string& expression, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    try {
      if (evaluate("!!(" + expression + ")") == true) return true;
    } catch (const std::runtime_error&) {
      // The page is navigating: its context went away under the call. Try again.
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
}

void Browser::type(const std::string& text) {
  call("Input.insertText", {{"text", text}});
}

void Browser::press(const std::string& key) {
  const int code = key == "Enter" ? 13 : 9;
  nlohmann::json down{
      {"type", "keyDown"}, {"key", key}, {"code", key}, {"windowsVirtualKeyCode", code}};
  if (key == "Enter") down["text"] = "\r";
  call("Input.dispatchKeyEvent", down);
  call("Input.dispatchKeyEvent",
       {{"type", "keyUp"}, {"key", key}, {"code", key}, {"windowsVirtualKeyCode", code}});
}

void Browser::screenshot(const std::filesystem::path& file) {
  const auto shot = call("Page.captureScreenshot", {{"format", "png"}});
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << decode_base64(shot.at("data").get<std::string>());
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void Browser::phone(bool on) {
  call("Emulation.setDeviceMetricsOverride", {{"width", on ? 390 : 1280},
                                              {"height", on ? 844 : 900},
                                              {"deviceScaleFactor", on ? 2 : 1},
                                              {"mobile", on}});
}

}  // namespace dashboard_test
