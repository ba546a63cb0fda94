// users.cpp: useradd, retried while another test binary holds /etc/passwd's lock.
#include "tests/support/users.hpp"

#include <pwd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "tests/support/child.hpp"

namespace test {

User ensure_user(const std::string& name) {
  if (!name.starts_with("dpl-test-")) throw std::logic_error("test users start with dpl-test-");
  std::string last_output;
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (const passwd* pw = ::getpwnam(name.c_str())) return User{name, pw->pw_uid, pw->pw_gid};
    // --user-group: a group of its own, so no other test user shares its files by group.
    auto r = run({"/usr/sbin/useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                  "/nonexistent", "--shell", "/usr/sbin/nologin", name},
                 {}, std::chrono::seconds(20));
    last_output = r.output;
    if (r.status != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("cannot create the test user " + name + ": " + last_output);
}

}  // namespace test
