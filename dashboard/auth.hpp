// auth.hpp: who may log in, the sessions of those who did, and the brake on password guessing.
//
// - Users come from dashboard.users; each password_hash source is read once at start.
// - A successful login creates a session: a random 256-bit token (the cookie) and a random
//   256-bit CSRF token (a hidden field of every form). Sessions live in memory for 12 hours and
//   end when the dashboard restarts (people log in again; nothing else is lost).
// - Failed logins are counted per client address over a sliding minute: after five, every
//   further attempt from that address is refused without looking at the password (429) until
//   the oldest failure is a minute old. A name that does not exist costs the same hash check as
//   a wrong password, so timing does not tell which names exist.
// Thread-safe: every member takes one mutex (the password check runs outside it).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace dashboard {

using Clock = std::chrono::steady_clock;
using Role = common::DashboardUser::Role;

struct User {
  std::string name;
  Role role = Role::viewer;
  std::string password_hash;
};

struct Session {
  std::string user;
  Role role = Role::viewer;
  std::string csrf;
  Clock::time_point expires;

  bool is_operator() const { return role == Role::operator_; }
};

/// Reads every user's password_hash source. Throws std::runtime_error naming the user and the
/// source when one is missing or is not an argon2 hash, and when there are no users at all.
std::vector<User> load_users(const common::Config& config);

class Auth {
 public:
  static constexpr std::size_t kFreeFailures = 5;
  static constexpr std::chrono::seconds kFailureWindow{60};
  static constexpr std::chrono::hours kSessionLifetime{12};

  explicit Auth(std::vector<User> users);

  enum class Outcome { ok, wrong, limited };
  struct Login {
    Outcome outcome = Outcome::wrong;
    std::string token;                    ///< the session token when ok
    std::chrono::seconds retry_after{0};  ///< when limited
  };

  /// Checks a login from `peer` (see the file comment).
  Login login(const std::string& name, const std::string& password, const std::string& peer,
              Clock::time_point now);
  /// The live session of `token`.
  std::optional<Session> session(const std::string& token, Clock::time_point now);
  /// Ends the session of `token` (nothing when there is none).
  void logout(const std::string& token);
  /// The users of a reloaded configuration: sessions of users no longer listed end, the others
  /// take their user's new role.
  void replace_users(std::vector<User> users);

 private:
  static constexpr std::size_t kMaxSessions = 10000;
  static constexpr std::size_t kMaxTrackedPeers = 10000;

  void forget_old(Clock::time_point now);  // with mutex_ held

  std::mutex mutex_;
  std::shared_ptr<const std::vector<User>> users_;  // guarded by mutex_
  std::string dummy_hash_;                          // checked for unknown names
  std::map<std::string, Session> sessions_;
  std::map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace dashboard
