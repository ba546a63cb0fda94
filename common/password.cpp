// password.cpp: libsodium's crypto_pwhash_str (argon2id) behind password.hpp.
#include "common/password.hpp"

#include <sodium.h>

#include <stdexcept>
#include <vector>

namespace common {
namespace {

void require_sodium() {
  // sodium_init is idempotent and thread-safe; < 0 means no usable random source.
  if (::sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace

std::string hash_password(std::string_view password) {
  require_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (::crypto_pwhash_str_alg(
          out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("cannot hash the password: out of memory");
  }
  return out;
}

bool verify_password(std::string_view hash, std::string_view password) {
  require_sodium();
  // crypto_pwhash_str_verify wants a NUL-terminated string of at most STRBYTES - 1 characters.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(hash);
  return ::crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

std::string random_hex(std::size_t count) {
  require_sodium();
  std::vector<unsigned char> bytes(count);
  ::randombytes_buf(bytes.data(), bytes.size());
  std::string out(count * 2 + 1, '\0');
  ::sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return ::sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace common
