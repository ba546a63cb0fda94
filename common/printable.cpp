// printable.cpp: the UTF-8 walk behind printable() (see printable.hpp).
#include "common/printable.hpp"

namespace common {
namespace {

constexpr char hex[] = "0123456789abcdef";

bool continuation(unsigned char c) {
  return (c & 0xc0) == 0x80;
}

void append_hex_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
  }
}

// Walks `text`, calling keep(begin, length) for runs to copy and escape(...) for the rest.
template <typename Keep, typename HexByte, typename C1>
void walk(std::string_view text, PrintableOptions options, Keep keep, HexByte hex_byte, C1 c1) {
  std::size_t run = 0;  // start of the current run of bytes kept as they are
  std::size_t i = 0;
  auto flush = [&] {
    if (i > run) keep(run, i - run);
  };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      const bool control = c < 0x20 || c == 0x7f;
      if (!control || (options.keep_newlines && (c == '\n' || c == '\t'))) {
        ++i;
        continue;
      }
      flush();
      hex_byte(c);
      run = ++i;
      continue;
    }
    const auto length = utf8_sequence(text, i);
    if (length == 0) {
      flush();
      hex_byte(c);
      run = ++i;
      continue;
    }
    if (length == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      flush();
      c1(static_cast<unsigned char>(text[i + 1]));
      run = i += 2;
      continue;
    }
    i += length;
  }
  flush();
}

}  // namespace

std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t length = 0;
  unsigned long code = 0;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
    code = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    code = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    code = c & 0x07;
  } else {
    return 0;  // a continuation byte, an overlong lead (0xc0, 0xc1) or beyond U+10FFFF
  }
  if (i + length > s.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(s[i + k]);
    if (!continuation(next)) return 0;
    code = (code << 6) | (next & 0x3f);
  }
  if (length == 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) return 0;
  if (length == 4 && (code < 0x10000 || code > 0x10ffff)) return 0;
  return length;
}

void append_printable(std::string& out, std::string_view text, PrintableOptions options) {
  walk(
      text, options, [&](std::size_t at, std::size_t n) { out.append(text.substr(at, n)); },
      [&](unsigned char c) { append_hex_escape(out, c); },
      [&](unsigned char second) {
        out += "\\u00";
        out += hex[second >> 4];  // U+0080..U+009F is encoded as 0xc2 0x80..0x9f
        out += hex[second & 0xf];
      });
}

std::string printable(std::string_view text, PrintableOptions options) {
  std::string out;
  out.reserve(text.size());
  append_printable(out, text, options);
  return out;
}

bool is_printable(std::string_view text, PrintableOptions options) {
  bool clean = true;
  walk(
      text, options, [](std::size_t, std::size_t) {}, [&](unsigned char) { clean = false; },
      [&](unsigned char) { clean = false; });
  return clean;
}

}  // namespace common
