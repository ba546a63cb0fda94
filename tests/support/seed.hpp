// The seed of a test's random choices, printed so that a failure can be replayed.
#pragma once

#include <cstdint>

namespace test {

/// $DEPLOY_TEST_SEED when set (a decimal number: a replay), else a fresh random seed. Prints
/// "seed N (replay: DEPLOY_TEST_SEED=N)" on stderr, which ctest shows with a failing test's output.
/// Throws when DEPLOY_TEST_SEED is set but not a number.
std::uint32_t seed();

}  // namespace test
