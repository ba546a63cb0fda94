// site_rules.cpp: name rules and a small nginx tokenizer for the directive check.
#include "deploy-privileged/site_rules.hpp"

#include <algorithm>
#include <array>

namespace privileged {
namespace {

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// One statement: its words, unquoted, and the 1-based line of its first word.
struct Statement {
  std::vector<std::string> words;
  int line = 0;
};

// Splits nginx configuration text into statements the way nginx's own parser does: words are
// separated by whitespace, ';' ends a simple statement, '{' ends a block's head, '}' ends a block,
// '#' starts a comment, quotes group and backslash escapes. Returns an error for an unterminated
// quote.
std::optional<std::string> tokenize(std::string_view text, std::vector<Statement>& out) {
  Statement current;
  int line = 1;
  std::size_t i = 0;
  auto finish = [&] {
    if (!current.words.empty()) out.push_back(std::move(current));
    current = Statement{};
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == ';' || c == '{' || c == '}') {
      finish();
      ++i;
    } else {
      std::string word;
      const int word_line = line;
      if (c == '"' || c == '\'') {
        const char quote = c;
        ++i;
        while (true) {
          if (i >= text.size()) return "unterminated quote on line " + std::to_string(word_line);
          if (text[i] == '\\' && i + 1 < text.size()) {
            word += text[i + 1];
            i += 2;
            continue;
          }
          if (text[i] == quote) break;
          if (text[i] == '\n') ++line;
          word += text[i++];
        }
        ++i;
      } else {
        while (i < text.size()) {
          const char d = text[i];
          if (d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == ';' || d == '{' || d == '}') {
            break;
          }
          if (d == '\\' && i + 1 < text.size()) {
            word += text[i + 1];
            i += 2;
            continue;
          }
          word += d;
          ++i;
        }
      }
      if (current.words.empty()) current.line = word_line;
      current.words.push_back(std::move(word));
    }
  }
  finish();
  return std::nullopt;
}

bool ends_with_any(std::string_view s, std::initializer_list<std::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](std::string_view x) { return s.ends_with(x); });
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view x) { return s.starts_with(x); });
}

// Directives that make the root master read, create, chown or run something by path.
bool denied(std::string_view name) {
  static constexpr std::array<std::string_view, 12> exact{"include",
                                                          "load_module",
                                                          "env",
                                                          "user",
                                                          "pid",
                                                          "lock_file",
                                                          "working_directory",
                                                          "ssl_engine",
                                                          "ssl_conf_command",
                                                          "google_perftools_profiles",
                                                          "debug_points",
                                                          "daemon"};
  if (std::find(exact.begin(), exact.end(), name) != exact.end()) return true;
  if (starts_with_any(name, {"perl", "js_", "lua", "njs", "geoip", "xslt", "image_filter"})) {
    return true;
  }
  if (ends_with_any(name, {"_temp_path", "_cache_path"})) return true;
  // Every *ssl*/*_certificate* file directive other than the two checked below.
  if (name.find("ssl") != std::string_view::npos ||
      name.find("certificate") != std::string_view::npos) {
    return ends_with_any(name, {"certificate", "certificate_key", "_file", "_crl", "dhparam",
                                "ticket_key"}) &&
           name != "ssl_certificate" && name != "ssl_certificate_key";
  }
  return false;
}

bool plain_path(std::string_view path) {
  return path.find("..") == std::string_view::npos && path.find('$') == std::string_view::npos;
}

std::optional<std::string> check_log(const Statement& s) {
  if (s.words.size() < 2) return std::nullopt;  // nginx itself rejects it
  const std::string& target = s.words[1];
  if (target == "off" || target == "stderr" || target.starts_with("syslog:")) return std::nullopt;
  if (target.starts_with("/var/log/nginx/") && plain_path(target)) return std::nullopt;
  return s.words[0] + " may only be off, stderr, syslog: or a file under /var/log/nginx/";
}

std::optional<std::string> check_certificate(const Statement& s,
                                             const std::vector<std::string>& domains,
                                             const std::filesystem::path& live_dir) {
  if (s.words.size() < 2) return std::nullopt;
  const std::string& file = s.words[1];
  if (plain_path(file)) {
    for (const auto& domain : domains) {
      const std::string prefix = (live_dir / domain).string() + "/";
      if (file.starts_with(prefix) && file.find('/', prefix.size()) == std::string::npos) {
        return std::nullopt;
      }
    }
  }
  return s.words[0] + " may only name a file of this deployment's certificates (" +
         live_dir.string() + "/<domain>/)";
}

}  // namespace

bool valid_site_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || !alnum(name.front()) || !name.ends_with(".conf") ||
      name.size() == 5) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool valid_domain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t labels = 0;
  while (true) {
    const auto dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return labels >= 2;
}

std::optional<std::string> check_site_config(std::string_view text,
                                             const std::vector<std::string>& domains,
                                             const std::filesystem::path& live_dir) {
  if (text.find('\0') != std::string_view::npos) return "the file contains a NUL byte";
  std::vector<Statement> statements;
  if (auto error = tokenize(text, statements)) return error;
  for (const auto& s : statements) {
    const std::string& name = s.words[0];
    std::optional<std::string> problem;
    if (denied(name)) {
      problem = "the directive " + name + " is not allowed in a site file";
    } else if (name == "access_log" || name == "error_log") {
      problem = check_log(s);
    } else if (name == "ssl_certificate" || name == "ssl_certificate_key") {
      problem = check_certificate(s, domains, live_dir);
    }
    if (problem) return "line " + std::to_string(s.line) + ": " + *problem;
  }
  return std::nullopt;
}

}  // namespace privileged
