// A real headless chromium driven over the DevTools protocol, for the dashboard's browser tests.
//
// Chromium is started with --remote-debugging-pipe: commands go to its fd 3 and answers and
// events come from its fd 4, each a JSON message ended by a NUL byte (no WebSocket needed). The
// constructor opens one page (Target.createTarget, attached with a flat session); every call
// waits for its answer with a deadline and throws with chromium's error. The destructor closes
// the browser and kills its process group, so no chromium outlives a test. Runs as root with the
// flags a sandbox-less container needs; a fresh profile folder per browser.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace dashboard_test {

/// True when /usr/bin/chromium exists.
bool have_chromium();

class Browser {
 public:
  /// `profile`: an empty folder for --user-data-dir; chromium's own output goes to `log`.
  Browser(const std::filesystem::path& profile, const std::filesystem::path& log);
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  /// One DevTools command on the page's session; returns its "result".
  nlohmann::json call(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object());
  /// Runtime.evaluate (promises awaited); returns the value.
  nlohmann::json evaluate(const std::string& expression);
  /// Page.navigate, then waits until the document is complete.
  void navigate(const std::string& url);
  /// Polls `expression` every 100 ms until it is true (JavaScript truthiness); false on timeout.
  bool wait_until(const std::string& expression, std::chrono::milliseconds timeout);
  /// Types text into the focused element.
  void type(const std::string& text);
  /// Presses a key: "Tab" or "Enter".
  void press(const std::string& key);
  /// A PNG of the viewport, written to `file`.
  void screenshot(const std::filesystem::path& file);
  /// Emulates a phone-sized screen (390 x 844 CSS pixels) or a desktop one (1280 x 900).
  void phone(bool on);

 private:
  nlohmann::json command(const std::string& method, const nlohmann::json& params,
                         const std::string& session);
  nlohmann::json read_message(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int to_browser_ = -1;
  int from_browser_ = -1;
  std::string buffer_;
  int next_id_ = 1;
  std::string session_;
};

}  // namespace dashboard_test
