// result.hpp: common::Result<T>, a value or a common::Error (C++20 has no std::expected).
//
// Contract: recoverable problems (a malformed entry, a bad field in a webhook payload, a value
// that fails validation) are returned as Result so the caller decides what to do with them:
// quarantine the file, answer 400, print one line. Error::message says what is wrong in words an
// operator understands; it never contains secrets. Asking a failed Result for its value throws
// common::BadResultAccess carrying that message, so a caller that does not expect failure still
// gets a clear error instead of undefined behaviour.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace common {

/// Why an operation failed: one human-readable sentence fragment.
struct Error {
  std::string message;
};

/// Thrown by Result::value() on a failed Result; what() is the Error's message.
class BadResultAccess : public std::runtime_error {
 public:
  explicit BadResultAccess(const std::string& message) : std::runtime_error(message) {}
};

/// Either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value; throws BadResultAccess (with the error's message) when !ok().
  T& value() & {
    check();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check();
    return std::get<0>(state_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(state_));
  }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  /// The error; throws std::logic_error when the Result holds a value (a programming mistake).
  const Error& error() const {
    if (ok()) throw std::logic_error("common::Result::error() called on a successful result");
    return std::get<1>(state_);
  }

 private:
  void check() const {
    if (!ok()) throw BadResultAccess(std::get<1>(state_).message);
  }

  std::variant<T, Error> state_;
};

/// Success with nothing to return, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit

  static Result success() { return Result(); }

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }

  /// Throws BadResultAccess (with the error's message) when !ok().
  void value() const {
    if (failed_) throw BadResultAccess(error_.message);
  }

  /// The error; throws std::logic_error when the Result is a success.
  const Error& error() const {
    if (!failed_) throw std::logic_error("common::Result::error() called on a successful result");
    return error_;
  }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace common
