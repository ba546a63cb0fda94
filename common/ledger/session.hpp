// session.hpp (internal to the ledger library): one lazily opened libpqxx connection, the mapping
// of its failures onto ledger::Unavailable / ledger::Error, and the connection-state log lines.
//
// Contract: run() opens the connection if there is none, runs the body, and on a lost connection
// throws Unavailable after dropping the connection, so the next run() connects afresh. When a
// connection that was open before the call turns out to be dead (the server restarted while the
// program was idle; a probe before each call catches most such cases), the body runs once more on
// a fresh connection, because nothing of it was committed; a failure while committing (outcome
// unknown) is never retried here. Single-statement calls run in autocommit (pqxx::nontransaction:
// one round trip, no BEGIN/COMMIT); their write statements go through autocommit_write(), so a
// connection lost during one counts as a failed commit. The probe costs no round trip (it only
// reads what the server has already sent). One log line per
// state change: "ledger connected", "ledger connection lost" / "ledger unavailable", "ledger
// connection restored"; none per failed retry.
#pragma once

#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <type_traits>

namespace ledger::detail {

/// Runs one write statement that executes in autocommit (pqxx::nontransaction): the statement is
/// its own commit, so a connection lost while it runs leaves its outcome unknown, exactly like a
/// failed COMMIT. Reported as such (pqxx::in_doubt_error: Unavailable, never retried by run()).
template <typename Statement>
decltype(auto) autocommit_write(Statement&& statement) {
  try {
    return statement();
  } catch (const pqxx::broken_connection& e) {
    throw pqxx::in_doubt_error(e.what());
  }
}

/// True for SQLSTATEs that mean the server went away or refuses work for now (not a bad query).
bool is_unavailable_state(const std::string& sqlstate);

class Session {
 public:
  /// Checks the connection string's syntax (ledger::Error when malformed); does not connect.
  explicit Session(std::string url);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Runs body(connection) as described above. `what` names the operation in errors and logs.
  template <typename Body>
  std::invoke_result_t<Body&, pqxx::connection&> run(std::string_view what, Body&& body);

  /// True while a connection is open (it may still turn out to be dead on next use).
  bool connected() const noexcept;

 private:
  enum class State { never, up, down };
  enum class Verdict { lost_retryable, unavailable, error };

  // The open connection, probed and replaced if the server closed it; `fresh` says whether it
  // was opened by this call.
  pqxx::connection& connection(std::string_view what, bool& fresh);
  // Classifies the current exception, drops the connection when it is gone, logs a state change.
  Verdict classify(std::string_view what, std::exception_ptr failure, std::string& message);
  [[noreturn]] void raise(std::string_view what, Verdict verdict, const std::string& message,
                          std::exception_ptr failure);

  std::string url_;
  std::unique_ptr<pqxx::connection> connection_;
  State state_ = State::never;
};

template <typename Body>
std::invoke_result_t<Body&, pqxx::connection&> Session::run(std::string_view what, Body&& body) {
  for (int attempt = 0;; ++attempt) {
    bool fresh = false;
    pqxx::connection& conn = connection(what, fresh);
    std::exception_ptr failure;
    try {
      return body(conn);
    } catch (...) {
      failure = std::current_exception();
    }
    std::string message;
    const Verdict verdict = classify(what, failure, message);
    // Only a connection that died while idle is retried, and only once: a fresh connection that
    // fails means the server is really gone, and looping here would hide that from the caller.
    if (verdict == Verdict::lost_retryable && !fresh && attempt == 0) continue;
    raise(what, verdict, message, failure);
  }
}

}  // namespace ledger::detail
