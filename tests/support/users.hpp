// Real system users for privilege tests (tests run as root in CI). Names start with "dpl-test-",
// which no real system uses; they are created once and kept (creating is idempotent and safe
// against parallel test binaries).
#pragma once

#include <sys/types.h>

#include <string>

namespace test {

struct User {
  std::string name;
  uid_t uid;
  gid_t gid;
};

/// The system user `name` (must start with "dpl-test-"), created with useradd when missing: no
/// home folder, no login shell, its own group. Throws when it cannot be created.
User ensure_user(const std::string& name);

}  // namespace test
