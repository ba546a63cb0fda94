// PostgreSQL test helpers: fixture url, per-test databases, private clusters (see pg.hpp).
#include "tests/support/pg.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>

#include "tests/support/child.hpp"

namespace test {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string unique_database_name() {
  static std::atomic<unsigned> counter{0};
  std::random_device random;
  std::ostringstream name;
  name << "test_" << ::getpid() << "_" << counter++ << "_" << std::hex << random();
  return name.str();
}

}  // namespace

std::string fixture_url() {
  const char* dir = std::getenv("DEPLOY_TEST_PG_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(
        "DEPLOY_TEST_PG_DIR is not set: run through ctest, with DATABASE in deploy_add_test");
  }
  const std::filesystem::path file = std::filesystem::path(dir) / "url";
  std::string url = trimmed(read_file(file));
  if (url.empty()) throw std::runtime_error(file.string() + " is empty");
  return url;
}

std::string with_database(const std::string& url, const std::string& database) {
  if (url.find("://") != std::string::npos) {
    throw std::runtime_error("with_database: expected a key=value connection string, got a URI");
  }
  std::istringstream in(url);
  std::string word, out;
  while (in >> word) {
    if (word.rfind("dbname=", 0) == 0) continue;
    out += word + " ";
  }
  return out + "dbname=" + database;
}

Database::Database(const std::string& server_url)
    : server_url_(server_url), name_(unique_database_name()) {
  pqxx::connection conn{server_url_};
  pqxx::nontransaction tx{conn};  // CREATE DATABASE cannot run inside a transaction
  tx.exec0("CREATE DATABASE " + tx.quote_name(name_));
  url_ = with_database(server_url_, name_);
}

Database::~Database() {
  try {
    pqxx::connection conn{server_url_};
    pqxx::nontransaction tx{conn};
    // FORCE: a test that failed half-way may leave connections open; they must not keep the
    // database alive.
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (...) {
    // The cluster is thrown away after the run anyway.
  }
}

Cluster::Cluster() : temp_("ledger-pg"), dir_(temp_.path() / "pg") {
  url_ = pg("start");
}

Cluster::~Cluster() {
  try {
    pg("destroy");
  } catch (...) {
  }
}

void Cluster::stop() {
  pg("stop");
}

void Cluster::start() {
  const std::string url = pg("start");
  if (url != url_) {
    throw std::runtime_error("private cluster " + dir_.string() + " moved from '" + url_ +
                             "' to '" + url + "' on restart");
  }
}

std::string Cluster::pg(const std::string& command) {
  const auto result = run({source("scripts/pg.sh").string(), "--fast", command, dir_.string()});
  if (result.status != 0) {
    throw std::runtime_error("scripts/pg.sh " + command + " " + dir_.string() + " failed (" +
                             std::to_string(result.status) + "): " + result.output);
  }
  // start prints the connection string as its last line (warnings, if any, come before it).
  std::string output = trimmed(result.output);
  const auto newline = output.rfind('\n');
  return newline == std::string::npos ? output : output.substr(newline + 1);
}

}  // namespace test
