// fuzz_entry.cpp: libFuzzer target for the entry reader every consumer uses:
// common::parse_entry on arbitrary bytes, then common::parse_push on the payload it returns.
// Contract checked: hostile text (deep nesting, invalid UTF-8, huge numbers, NUL bytes) yields an
// error value, never a crash, an exception or a sanitizer report; a parsed push has validated
// fields (a ref starting with "refs/", a 40 or 64 hex digit sha).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entry = common::parse_entry(text);
  if (!entry) return 0;
  if (!entry.value().payload.is_object()) std::abort();
  auto push = common::parse_push(entry.value().payload);
  if (!push) return 0;
  const common::Push& p = push.value();
  if (p.ref.rfind("refs/", 0) != 0) std::abort();
  if (p.after.size() != 40 && p.after.size() != 64) std::abort();
  if (p.ref.find_first_of(" ;|&$`\n") != std::string::npos) std::abort();
  return 0;
}
