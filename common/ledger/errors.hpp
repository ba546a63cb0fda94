// errors.hpp: the three kinds of failure a ledger call reports.
//
//   ledger::Unavailable   the database cannot be reached right now (refused, down, restarting,
//                         connection lost, commit outcome unknown). Transient: retry the same
//                         call later with capped backoff. Every write is idempotent, so repeating
//                         a write whose outcome is unknown is harmless.
//   ledger::SchemaBehind  the database schema is older than this program; run `deployctl migrate`.
//   ledger::Error         anything else: SQL errors, constraint violations, unknown values, misuse.
//                         Retrying will not help; it is a bug or a broken database.
//   ledger::DataError     (an Error) a value PostgreSQL refused: fail the entry it came from.
//
// Messages name the operation and never contain the connection string (it may hold a password).
#pragma once

#include <stdexcept>
#include <string>

namespace ledger {

/// The database could not be reached; the same call may succeed later.
class Unavailable : public std::runtime_error {
 public:
  explicit Unavailable(const std::string& message) : std::runtime_error(message) {}
};

/// A failure that retrying will not cure (SQL error, bad value, misuse).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// PostgreSQL refused a value (SQLSTATE class 22, data exception: a byte sequence that is not
/// UTF-8, a NUL, a value too long; or a check or not-null constraint). It is about the data of
/// one call, not about the database: a program fails the one entry it was handling, not itself.
class DataError : public Error {
 public:
  explicit DataError(const std::string& message) : Error(message) {}
};

/// The database schema is behind the migrations this program was built with.
class SchemaBehind : public Error {
 public:
  SchemaBehind(int current, int needed);
  int current() const noexcept { return current_; }
  int needed() const noexcept { return needed_; }

 private:
  int current_;
  int needed_;
};

}  // namespace ledger
