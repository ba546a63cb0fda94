// Sets the environment every test relies on before main() runs, unless the caller already set it:
// where the built programs and the sources are, where the ctest PostgreSQL fixture lives, and
// DEPLOY_ALLOW_ROOT=1 because tests (and CI) run as root while the programs refuse root by default.
#include <cstdlib>

namespace {

struct TestEnvironment {
  TestEnvironment() {
    ::setenv("DEPLOY_BIN_DIR", DEPLOY_TEST_BIN_DIR, 0);
    ::setenv("DEPLOY_SOURCE_DIR", DEPLOY_TEST_SOURCE_DIR, 0);
    ::setenv("DEPLOY_TEST_PG_DIR", DEPLOY_TEST_PG_DIR_DEFAULT, 0);
    ::setenv("DEPLOY_ALLOW_ROOT", "1", 0);
  }
};

const TestEnvironment test_environment;

}  // namespace
