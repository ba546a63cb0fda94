// errors.cpp: the messages of the ledger's typed errors.
#include "common/ledger/errors.hpp"

namespace ledger {

SchemaBehind::SchemaBehind(int current, int needed)
    : Error("ledger schema is at version " + std::to_string(current) + ", this program needs " +
            std::to_string(needed) + ": run `deployctl migrate`"),
      current_(current),
      needed_(needed) {}

}  // namespace ledger
