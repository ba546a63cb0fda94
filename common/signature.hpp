// signature.hpp: GitHub webhook signatures (X-Hub-Signature-256), HMAC-SHA256 of the raw body.
//
// check_signature compares in constant time (CRYPTO_memcmp over the decoded 32 bytes) against
// every configured secret, so several secrets can be accepted while one is being rotated.
// Nothing here logs, stores or returns a secret; error results say only which rule the header
// broke.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace common {

/// "sha256=" followed by the 64 lowercase hex digits of HMAC-SHA256(secret, body): exactly the
/// value GitHub puts in X-Hub-Signature-256.
std::string github_signature(std::string_view secret, std::string_view body);

enum class SignatureCheck {
  ok,         ///< the header matches the body under one of the secrets
  malformed,  ///< the header is not exactly "sha256=" + 64 hex digits (missing, sha1=, ...)
  mismatch,   ///< well formed, but no secret produces it
};

/// Checks an X-Hub-Signature-256 header value against the raw body. Empty secrets never match.
SignatureCheck check_signature(std::string_view header, std::string_view body,
                               std::span<const std::string> secrets);

/// "ok", "malformed" or "mismatch", for log lines.
std::string_view to_string(SignatureCheck check);

}  // namespace common
