#include "tests/support/seed.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>

namespace test {

std::uint32_t seed() {
  std::uint32_t value = 0;
  if (const char* text = std::getenv("DEPLOY_TEST_SEED"); text != nullptr && *text != '\0') {
    const char* end = text + std::strlen(text);
    auto [at, error] = std::from_chars(text, end, value);
    if (error != std::errc() || at != end) {
      throw std::invalid_argument(std::string("DEPLOY_TEST_SEED: not a number: ") + text);
    }
  } else {
    value = std::random_device{}();
  }
  std::cerr << "seed " << value << " (replay: DEPLOY_TEST_SEED=" << value << ")" << std::endl;
  return value;
}

}  // namespace test
