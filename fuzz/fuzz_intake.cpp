// fuzz_intake.cpp: libFuzzer target for the deployer's intake: deployer::check_entry_text on
// arbitrary bytes, the check every queue entry passes before it is deployed or set aside.
// Contract checked: no crash, exception or sanitizer report; a refused entry's reason is
// printable (valid UTF-8, no NUL, no control character), i.e. storable as PostgreSQL text and
// safe in a log line, because it goes to the ledger (Ledger::mark) as it is: before this check
// existed, one byte that is not UTF-8 made PostgreSQL refuse the reason and the deployer exit,
// again at every restart. An accepted entry is a push of the deployment's repository with a
// validated commit. tests/attacks/intake_ledger_test.cpp stores such reasons in a real ledger.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/printable.hpp"
#include "deployer/push_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const common::Deployment deployment = [] {
    common::Deployment d;
    d.name = "app";
    d.repository = "example/app";
    d.branch = "main";
    return d;
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto taken = deployer::check_entry_text(text, deployment);
  if (!taken) {
    if (!common::is_printable(taken.error().message)) std::abort();
    return 0;
  }
  const common::Push& push = taken.value().push;
  if (push.after.size() != 40 && push.after.size() != 64) std::abort();
  if (push.deleted) std::abort();
  if (!common::is_printable(push.ref) || !common::is_printable(push.repository)) std::abort();
  return 0;
}
