// PostgreSQL for tests: the shared fixture cluster (ctest fixture "postgres", started by
// scripts/pg.sh into $DEPLOY_TEST_PG_DIR), a fresh database per test inside it, and private
// clusters for tests that stop and restart the server.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace test {

/// The fixture cluster's connection string (database `deployer`), from $DEPLOY_TEST_PG_DIR/url.
/// Throws when the variable or the file is missing (the test lacks DATABASE in deploy_add_test).
std::string fixture_url();

/// `url` (a key=value connection string) with its dbname replaced by `database`.
std::string with_database(const std::string& url, const std::string& database);

/// A new, uniquely named, empty database, dropped (with any connections still open to it) when
/// the object is destroyed. Safe to use from tests running in parallel.
class Database {
 public:
  /// Creates the database in the cluster `server_url` points at (default: the fixture cluster).
  explicit Database(const std::string& server_url = fixture_url());
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& name() const { return name_; }
  /// Connection string of this database.
  const std::string& url() const { return url_; }

 private:
  std::string server_url_;
  std::string name_;
  std::string url_;
};

/// A private throwaway cluster in its own temporary folder (scripts/pg.sh --fast), for tests that
/// stop the server: stopping it never disturbs other tests. stop() and start() keep the folder,
/// the port and so the connection string. The destructor destroys the cluster and its folder.
class Cluster {
 public:
  Cluster();
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  /// Connection string of the cluster's `deployer` database.
  const std::string& url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_; }

  /// Stops the server (fast shutdown: open connections are cut).
  void stop();
  /// Starts it again; throws if the connection string changed (its port was taken meanwhile).
  void start();

 private:
  std::string pg(const std::string& command);

  TempDir temp_;
  std::filesystem::path dir_;
  std::string url_;
};

}  // namespace test
