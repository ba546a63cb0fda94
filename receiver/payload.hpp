// payload.hpp: from a webhook body to the JSON text stored in the entry.
//
// GitHub posts the event either as `application/json` (the body is the payload) or as
// `application/x-www-form-urlencoded` (the body is `payload=<url-encoded JSON>`). The payload is
// stored VERBATIM (the exact bytes GitHub sent, after url-decoding for forms), so it must first
// be shown to be one well-formed JSON object. The check streams through the text once without
// building a document and refuses nesting deeper than kMaxDepth before going any deeper, so a
// hostile body of 100,000 nested brackets costs one linear scan and cannot exhaust the stack.
//
// Pure functions; nothing here logs, allocates beyond the result, or throws.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace receiver {

/// The deepest payload accepted: common::max_entry_depth minus the entry object wrapped around
/// the payload, so whatever the receiver accepts the router can read back (payload.cpp checks).
inline constexpr std::size_t kMaxDepth = 511;

enum class ContentType { json, form, other };

/// Classifies a Content-Type value: the media type before any ';' parameters, compared without
/// regard to case and surrounding spaces ("Application/JSON; charset=utf-8" is json).
ContentType classify_content_type(std::string_view value);

/// Decodes application/x-www-form-urlencoded text ('+' is a space, %XX a byte). An error names
/// the malformed escape.
common::Result<std::string> url_decode(std::string_view text);

/// The decoded value of the `payload` field of a form body. Errors: no `payload` field, more
/// than one, or a malformed escape.
common::Result<std::string> form_payload(std::string_view body);

/// Ok when `text` is exactly one JSON object (surrounding whitespace allowed), valid UTF-8,
/// nested at most kMaxDepth deep. The error says why not ("not a JSON object: the body is an
/// array", "nesting deeper than 512", "syntax error at byte 17: ..."). When ok and `repository`
/// is given, it receives the payload's repository.full_name string (nullopt when there is none).
common::Result<void> check_json_object(std::string_view text,
                                       std::optional<std::string>* repository = nullptr);

}  // namespace receiver
