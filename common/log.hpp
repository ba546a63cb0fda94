// log.hpp: one line per event on stderr, key=value fields, safe against forged lines.
//
//   2026-11-23T04:05:06.123Z info receiver: entry published delivery=abc entry=000...-abc.json
//
// Each line is built in memory and handed to the kernel with a single write(2) on fd 2, so lines
// from several threads or processes sharing a PM2 log never interleave (for lines up to PIPE_BUF
// on a pipe; a regular file opened O_APPEND is atomic per write either way). Values that contain
// a space, a quote, '=' or a backslash (or are empty) are double-quoted; control characters and
// newlines are escaped everywhere, in the message too, so webhook data cannot start a line of
// its own. Values longer than 4096 bytes are cut and marked with "...". Logging never throws and
// never blocks on a lock while writing.
//
// The level comes from the environment variable DEPLOY_LOG_LEVEL (debug|info|warn|error,
// default info) the first time it is needed; set_level() overrides it. Call set_program() once at
// startup (run_main in cli.hpp does).
#pragma once

#include <chrono>
#include <concepts>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace common::log {

enum class Level { debug, info, warn, error };

/// One key=value pair. Keys are code constants ([A-Za-z0-9_.-]); values may be anything.
struct Field {
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) Field(std::string_view k, T v)
      : key(k), value(std::to_string(v)) {}

  std::string_view key;
  std::string value;
};

/// Names the program at the start of every line ("receiver", "deployer").
void set_program(std::string_view name);

/// Lines below this level are dropped.
void set_level(Level level);
Level level();
bool enabled(Level level);

/// "debug" -> Level::debug, ...; nullopt for anything else.
std::optional<Level> parse_level(std::string_view text);
std::string_view to_string(Level level);

/// The exact line (with its trailing newline) that write() would emit; pure, for tests.
std::string format_line(std::chrono::system_clock::time_point time, Level level,
                        std::string_view program, std::string_view message,
                        std::span<const Field> fields);
inline std::string format_line(std::chrono::system_clock::time_point time, Level level,
                               std::string_view program, std::string_view message,
                               std::initializer_list<Field> fields) {
  return format_line(time, level, program, message,
                     std::span<const Field>(fields.begin(), fields.size()));
}

/// A value as it appears after "key=": bare, or quoted and escaped.
std::string format_value(std::string_view value);

/// `text` with control characters escaped (\n, \r, \t, \xHH), as messages are written.
std::string escape_text(std::string_view text);

/// Emits one line if `level` is enabled.
void write(Level level, std::string_view message, std::span<const Field> fields);
inline void write(Level level, std::string_view message, std::initializer_list<Field> fields = {}) {
  write(level, message, std::span<const Field>(fields.begin(), fields.size()));
}

inline void debug(std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::debug, message, fields);
}
inline void info(std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::info, message, fields);
}
inline void warn(std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::warn, message, fields);
}
inline void error(std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::error, message, fields);
}

}  // namespace common::log
