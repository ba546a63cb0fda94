// log.cpp: line formatting, escaping and the single write(2) per line.
#include "common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "common/printable.hpp"
#include "common/timefmt.hpp"
#include "common/write_all.hpp"

namespace common::log {
namespace {

constexpr std::size_t max_value_bytes = 4096;

struct State {
  State() {
    const char* env = std::getenv("DEPLOY_LOG_LEVEL");
    if (env != nullptr) {
      if (auto parsed = parse_level(env)) level.store(*parsed);
    }
  }
  std::atomic<Level> level{Level::info};
  std::mutex program_mutex;
  std::string program = "deploy";
};

State& state() {
  static State instance;
  return instance;
}

// The message: controls and bytes that are not UTF-8 escaped, nothing quoted.
void append_message(std::string& out, std::string_view message) {
  append_printable(out, message);
}

void append_key(std::string& out, std::string_view key) {
  if (key.empty()) out += '_';
  for (char c : key) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '.' || c == '-';
    out += plain ? c : '_';
  }
}

// One write(2) for the whole line; write_all loops only if the kernel takes part of it (a full
// pipe). An error means stderr is gone: nothing sensible is left to report to.
void write_line(std::string_view line) {
  (void)common::write_all(STDERR_FILENO, line);
}

}  // namespace

void set_program(std::string_view name) {
  auto& s = state();
  std::lock_guard lock(s.program_mutex);
  s.program = std::string(name);
}

void set_level(Level level) {
  state().level.store(level);
}
Level level() {
  return state().level.load();
}
bool enabled(Level wanted) {
  return wanted >= level();
}

std::optional<Level> parse_level(std::string_view text) {
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn") return Level::warn;
  if (text == "error") return Level::error;
  return std::nullopt;
}

std::string_view to_string(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string format_value(std::string_view value) {
  bool truncated = false;
  if (value.size() > max_value_bytes) {
    value = value.substr(0, max_value_bytes);
    truncated = true;
  }
  bool quote = value.empty() || !is_printable(value);
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\') quote = true;
  }
  std::string out;
  out.reserve(value.size() + 8);
  if (quote) out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '"' && value[i] != '\\') continue;
    append_printable(out, value.substr(run, i - run));
    out += '\\';
    out += value[i];
    run = i + 1;
  }
  append_printable(out, value.substr(run));
  if (truncated) out += "...";
  if (quote) out += '"';
  return out;
}

std::string escape_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_message(out, text);
  return out;
}

std::string format_line(std::chrono::system_clock::time_point time, Level level,
                        std::string_view program, std::string_view message,
                        std::span<const Field> fields) {
  std::string line = utc_timestamp_ms(time);
  line += ' ';
  line += to_string(level);
  line += ' ';
  append_message(line, program);
  line += ": ";
  append_message(line, message);
  for (const auto& field : fields) {
    line += ' ';
    append_key(line, field.key);
    line += '=';
    line += format_value(field.value);
  }
  line += '\n';
  return line;
}

void write(Level level, std::string_view message, std::span<const Field> fields) {
  if (!enabled(level)) return;
  try {
    std::string program;
    {
      auto& s = state();
      std::lock_guard lock(s.program_mutex);
      program = s.program;
    }
    write_line(format_line(std::chrono::system_clock::now(), level, program, message, fields));
  } catch (...) {
    // Out of memory while formatting: dropping one log line beats crashing the caller.
  }
}

}  // namespace common::log
