// password.hpp: password hashes for the dashboard's users (libsodium's argon2id).
//
// `deployctl hash-password` makes a hash with hash_password(); the dashboard checks a login with
// verify_password(). The hash string carries its own algorithm, salt and cost
// ("$argon2id$v=19$m=65536,t=2,p=1$..."), so the cost can be raised later without breaking old
// hashes. Both calls take about 0.1 s and 64 MiB on purpose: guessing must be slow.
#pragma once

#include <string>
#include <string_view>

namespace common {

/// An argon2id hash of `password` with a fresh random salt. Throws std::runtime_error when
/// libsodium cannot start or runs out of memory.
std::string hash_password(std::string_view password);

/// True when `password` matches `hash` (a hash_password() result). False for a malformed hash.
/// The comparison inside libsodium is constant-time.
bool verify_password(std::string_view hash, std::string_view password);

/// `count` random bytes from the system's generator, as lower-case hex (2 * count characters).
std::string random_hex(std::size_t count);

/// Compares two strings in time that depends only on their lengths.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace common
