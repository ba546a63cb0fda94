// auth.cpp: users, sessions and the login brake (auth.hpp).
#include "dashboard/auth.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/password.hpp"
#include "common/secrets.hpp"

namespace dashboard {

std::vector<User> load_users(const common::Config& config) {
  std::vector<User> users;
  for (const auto& user : config.dashboard.users) {
    const auto hash = common::read_secret(user.password_hash);
    const std::string where =
        "dashboard.users " + user.name + ": password_hash (" + user.password_hash.describe() + ")";
    if (!hash) throw std::runtime_error(where + " is not set");
    // Catches a password pasted where its hash belongs, before anyone tries to log in.
    if (!hash->starts_with("$argon2")) {
      throw std::runtime_error(where + " is not a hash made by `deployctl hash-password`");
    }
    users.push_back({user.name, user.role, *hash});
  }
  if (users.empty()) {
    throw std::runtime_error(config.file.string() +
                             ": dashboard.users: no users, so nobody could log in");
  }
  return users;
}

Auth::Auth(std::vector<User> users)
    : users_(std::make_shared<const std::vector<User>>(std::move(users))),
      dummy_hash_(common::hash_password(common::random_hex(16))) {}

void Auth::replace_users(std::vector<User> users) {
  auto next = std::make_shared<const std::vector<User>>(std::move(users));
  std::lock_guard lock(mutex_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const auto user = std::find_if(next->begin(), next->end(),
                                   [&](const User& u) { return u.name == it->second.user; });
    if (user == next->end()) {
      it = sessions_.erase(it);
    } else {
      it->second.role = user->role;
      ++it;
    }
  }
  users_ = std::move(next);
}

void Auth::forget_old(Clock::time_point now) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    auto& times = it->second;
    while (!times.empty() && now - times.front() >= kFailureWindow) times.pop_front();
    it = times.empty() ? failures_.erase(it) : std::next(it);
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.expires <= now ? sessions_.erase(it) : std::next(it);
  }
}

Auth::Login Auth::login(const std::string& name, const std::string& password,
                        const std::string& peer, Clock::time_point now) {
  {
    std::lock_guard lock(mutex_);
    forget_old(now);
    const auto it = failures_.find(peer);
    if (it != failures_.end() && it->second.size() >= kFreeFailures) {
      const auto wait = kFailureWindow - (now - it->second.front());
      Login limited{Outcome::limited, {}, std::chrono::ceil<std::chrono::seconds>(wait)};
      return limited;
    }
  }
  std::shared_ptr<const std::vector<User>> users;
  {
    std::lock_guard lock(mutex_);
    users = users_;  // a reload meanwhile swaps the pointer, never this vector
  }
  // The slow part (about 0.1 s of argon2id) runs without the lock.
  const User* match = nullptr;
  for (const auto& user : *users) {
    if (common::equal_constant_time(user.name, name)) match = &user;
  }
  const bool ok = common::verify_password(match ? match->password_hash : dummy_hash_, password) &&
                  match != nullptr;
  std::lock_guard lock(mutex_);
  if (!ok) {
    if (failures_.size() < kMaxTrackedPeers || failures_.count(peer) != 0) {
      failures_[peer].push_back(now);
    }
    return {Outcome::wrong, {}, {}};
  }
  failures_.erase(peer);
  if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
  Login login{Outcome::ok, common::random_hex(32), {}};
  sessions_[login.token] =
      Session{match->name, match->role, common::random_hex(32), now + kSessionLifetime};
  return login;
}

std::optional<Session> Auth::session(const std::string& token, Clock::time_point now) {
  // Tokens are 64 hex digits; anything else cannot be one (and is not looked up).
  if (token.size() != 64) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void Auth::logout(const std::string& token) {
  std::lock_guard lock(mutex_);
  sessions_.erase(token);
}

}  // namespace dashboard
