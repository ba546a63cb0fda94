// printable.hpp: make untrusted bytes safe for a terminal, a log line or a PostgreSQL text column.
//
// Webhook data, file names and step output may hold anything: C0 controls (ESC starts terminal
// escape sequences), DEL, C1 controls (U+0080-U+009F; U+009B is a one-character CSI, and so is
// the raw byte 0x9b on terminals that read 8-bit controls), NUL (PostgreSQL refuses it in text)
// and bytes that are not UTF-8 (PostgreSQL refuses those too, and a refused ledger write must not
// stop a program). printable() keeps valid UTF-8 text as it is and writes everything else as a
// visible escape: \n \r \t, \xHH for a C0 control, DEL or a byte that is not part of valid UTF-8,
// and \u0080-\u009f for a C1 control. The result is always valid UTF-8 without NUL.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace common {

/// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when s[i] does not start one
/// (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, truncated).
std::size_t utf8_sequence(std::string_view s, std::size_t i);

struct PrintableOptions {
  bool keep_newlines = false;  ///< '\n' and '\t' pass through (multi-line text shown whole)
};

/// `text` with controls and invalid bytes escaped (see above). Appends to `out`.
void append_printable(std::string& out, std::string_view text, PrintableOptions options = {});

/// `text` with controls and invalid bytes escaped (see above).
std::string printable(std::string_view text, PrintableOptions options = {});

/// True when printable(text) == text: valid UTF-8 without any C0, DEL or C1 control.
bool is_printable(std::string_view text, PrintableOptions options = {});

}  // namespace common
