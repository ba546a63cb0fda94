// session.cpp: connecting, classifying libpqxx failures, and logging connection state changes.
#include "common/ledger/session.hpp"

#include <libpq-fe.h>

#include "common/ledger/errors.hpp"
#include "common/log.hpp"

namespace ledger::detail {
namespace {

// libpq messages end with a newline and may span lines ("...failed\n\tIs the server running");
// errors and log fields are single lines.
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

// Connection exceptions (08), server shutdown (57P01 admin, 57P02 crash, 57P03 cannot connect
// now), too many connections (53300).
bool is_unavailable_state(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300";
}

Session::Session(std::string url) : url_(std::move(url)) {
  // Parse without connecting so a malformed string is a clear Error at startup, not an endless
  // "unavailable". The message never includes the string itself (it may hold a password).
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url_.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error != nullptr ? one_line(error) : "out of memory";
    PQfreemem(error);
    throw Error("ledger: invalid database connection string: " + reason);
  }
  PQconninfoFree(options);
}

Session::~Session() = default;

bool Session::connected() const noexcept {
  return connection_ && connection_->is_open();
}

pqxx::connection& Session::connection(std::string_view what, bool& fresh) {
  fresh = false;
  if (connection_) {
    // Probe the idle connection before using it: reading what the server sent meanwhile (a
    // shutdown notice, end of file) marks a connection the server has closed as broken, so it is
    // replaced here rather than failing half-way through the caller's transaction. (libpqxx 6.4
    // also leaks a result when a statement fails on a dead connection.)
    std::string error = "the server closed the connection";
    bool alive = connection_->is_open();
    if (alive) {
      try {
        connection_->get_notifs();
        alive = connection_->is_open();
      } catch (const std::exception& e) {
        alive = false;
        error = one_line(e.what());
      }
    }
    if (alive) return *connection_;
    connection_.reset();
    if (state_ == State::up) {
      common::log::warn("ledger connection lost", {{"operation", what}, {"error", error}});
    }
    state_ = State::down;
  }
  try {
    connection_ = std::make_unique<pqxx::connection>(url_);
  } catch (const std::exception& e) {
    const std::string message = one_line(e.what());
    if (state_ != State::down) {
      common::log::warn("ledger unavailable", {{"operation", what}, {"error", message}});
    }
    state_ = State::down;
    throw Unavailable("ledger unavailable (" + std::string(what) + "): " + message);
  }
  fresh = true;
  const char* host = connection_->hostname();
  const char* name = connection_->dbname();
  common::log::info(state_ == State::down ? "ledger connection restored" : "ledger connected",
                    {{"database", name}, {"host", host}});
  state_ = State::up;
  return *connection_;
}

Session::Verdict Session::classify(std::string_view what, std::exception_ptr failure,
                                   std::string& message) {
  Verdict verdict = Verdict::error;
  bool ours = false;  // a ledger::Error the body threw on purpose: never reclassified
  try {
    std::rethrow_exception(failure);
  } catch (const Error& e) {
    message = e.what();
    ours = true;
  } catch (const Unavailable& e) {
    message = e.what();
    verdict = Verdict::unavailable;
  } catch (const pqxx::in_doubt_error& e) {
    // The connection broke during COMMIT: the write may or may not be in the database. Never
    // retried here; the caller's retry is safe because every write is idempotent.
    message = one_line(e.what());
    verdict = Verdict::unavailable;
  } catch (const pqxx::statement_completion_unknown& e) {
    message = one_line(e.what());
    verdict = Verdict::unavailable;
  } catch (const pqxx::broken_connection& e) {
    message = one_line(e.what());
    verdict = Verdict::lost_retryable;
  } catch (const pqxx::sql_error& e) {
    message = one_line(e.what());
    if (is_unavailable_state(e.sqlstate())) verdict = Verdict::lost_retryable;
  } catch (const std::exception& e) {
    message = one_line(e.what());
  }
  // Whatever the exception says, a closed connection means the server is out of reach.
  if (verdict == Verdict::error && !ours && connection_ && !connection_->is_open()) {
    verdict = Verdict::lost_retryable;
  }
  if (verdict != Verdict::error) {
    connection_.reset();
    if (state_ == State::up) {
      common::log::warn("ledger connection lost", {{"operation", what}, {"error", message}});
    }
    state_ = State::down;
  }
  return verdict;
}

void Session::raise(std::string_view what, Verdict verdict, const std::string& message,
                    std::exception_ptr failure) {
  if (verdict == Verdict::error) {
    try {
      std::rethrow_exception(failure);
    } catch (const Error&) {
      throw;
    } catch (const pqxx::sql_error& e) {
      const std::string& state = e.sqlstate();
      if (state.rfind("22", 0) == 0 || state == "23502" || state == "23514") {
        throw DataError("ledger: " + std::string(what) + " refused a value: " + message);
      }
      throw Error("ledger: " + std::string(what) + " failed: " + message);
    } catch (...) {
      throw Error("ledger: " + std::string(what) + " failed: " + message);
    }
  }
  if (message.rfind("ledger unavailable", 0) == 0) throw Unavailable(message);
  throw Unavailable("ledger unavailable (" + std::string(what) + "): " + message);
}

}  // namespace ledger::detail
