// fuzz_config.cpp: libFuzzer target for the configuration loader, common::parse_config, on
// arbitrary text. Contract checked: every input is either a Config or a common::ConfigError
// (one line naming the file and key); no other exception, crash or sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    common::Config config = common::parse_config(text, "/fuzz/config/deployer.json");
    if (config.deployments.empty()) std::abort();
  } catch (const common::ConfigError& e) {
    if (std::string_view(e.what()).find("/fuzz/config/deployer.json") == std::string_view::npos) {
      std::abort();  // errors must name the file
    }
  }
  return 0;
}
