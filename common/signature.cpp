// signature.cpp: HMAC-SHA256 with OpenSSL's one-shot HMAC() and a constant-time comparison.
#include "common/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "common/validate.hpp"

namespace common {
namespace {

constexpr std::string_view prefix = "sha256=";
constexpr std::size_t digest_size = 32;
using Digest = std::array<unsigned char, digest_size>;

Digest hmac_sha256(std::string_view secret, std::string_view body) {
  // HMAC() wants non-null pointers even for empty inputs.
  static const unsigned char empty = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&empty) : secret.data();
  const auto* data = body.empty() ? &empty : reinterpret_cast<const unsigned char*>(body.data());
  Digest out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), data, body.size(), out.data(),
           &length) == nullptr ||
      length != digest_size) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  return out;
}

std::optional<Digest> decode(std::string_view header) {
  if (!header.starts_with(prefix)) return std::nullopt;
  const auto hex = header.substr(prefix.size());
  if (hex.size() != 2 * digest_size) return std::nullopt;
  Digest out{};
  for (std::size_t i = 0; i < digest_size; ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return out;
}

}  // namespace

std::string github_signature(std::string_view secret, std::string_view body) {
  static constexpr char digits[] = "0123456789abcdef";
  const Digest digest = hmac_sha256(secret, body);
  std::string out(prefix);
  for (unsigned char byte : digest) {
    out += digits[byte >> 4];
    out += digits[byte & 0xf];
  }
  return out;
}

SignatureCheck check_signature(std::string_view header, std::string_view body,
                               std::span<const std::string> secrets) {
  const auto expected = decode(header);
  if (!expected) return SignatureCheck::malformed;
  bool matched = false;
  // Every secret is tried even after a match, so timing does not reveal which one matched.
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    const Digest actual = hmac_sha256(secret, body);
    if (CRYPTO_memcmp(actual.data(), expected->data(), digest_size) == 0) matched = true;
  }
  return matched ? SignatureCheck::ok : SignatureCheck::mismatch;
}

std::string_view to_string(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::ok:
      return "ok";
    case SignatureCheck::malformed:
      return "malformed";
    case SignatureCheck::mismatch:
      return "mismatch";
  }
  return "unknown";
}

}  // namespace common
