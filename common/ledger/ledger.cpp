// ledger.cpp: the Ledger object itself (its connection session) and the schema check.
#include "common/ledger/ledger.hpp"

#include "common/ledger/schema.hpp"
#include "common/ledger/session.hpp"

namespace ledger {

Ledger::Ledger(std::string url) : session_(std::make_unique<detail::Session>(std::move(url))) {}
Ledger::~Ledger() = default;
Ledger::Ledger(Ledger&&) noexcept = default;
Ledger& Ledger::operator=(Ledger&&) noexcept = default;

bool Ledger::connected() const noexcept {
  return session_ && session_->connected();
}

void Ledger::require_schema() {
  session_->run("require_schema", [](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    detail::require_schema(tx);
  });
}

}  // namespace ledger
