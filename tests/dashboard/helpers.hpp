// Helpers for the dashboard's tests: a site (a real git origin, the deployment's clone, a
// configuration with two dashboard users whose hashes the real `deployctl hash-password` made),
// the real programs started on it, and a few HTTP calls with a session cookie.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "queue-layout/layout.hpp"
#include "tests/support/child.hpp"
#include "tests/support/git.hpp"
#include "tests/support/http.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace dashboard_test {

inline constexpr const char* kOperator = "olivia";
inline constexpr const char* kOperatorPassword = "operator pass 1";
inline constexpr const char* kViewer = "victor";
inline constexpr const char* kViewerPassword = "viewer pass 2";
inline constexpr const char* kMetricsToken = "metrics-token-for-tests";
inline constexpr const char* kSecret = "dashboard-test-secret";

/// `deployctl hash-password` with `password` on stdin; returns its stdout (one line).
std::string hash_password(const std::string& password);

class Site {
 public:
  /// `steps` replaces the deployment's steps when not empty; `extra` is merged into the top level
  /// and `deployment_extra` into the deployment "site".
  explicit Site(const nlohmann::json& steps = nlohmann::json::array(),
                const nlohmann::json& extra = nlohmann::json::object(),
                const nlohmann::json& deployment_extra = nlohmann::json::object());

  test::TempDir dir{"dashboard-test"};
  test::GitOrigin origin{dir / "repo"};
  std::string first_sha;
  std::filesystem::path config;
  queue_layout::Layout layout{dir / "var"};
  unsigned short port = 0;           ///< the dashboard's
  unsigned short receiver_port = 0;  ///< the receiver's

  /// Starts bin/<program> --config <config> extra..., with WEBHOOK_SECRET, the metrics token and
  /// `env`; its output goes to <dir>/<program>.log.
  test::Child start(const std::string& program, const std::vector<std::string>& extra = {},
                    std::map<std::string, std::string> env = {}) const;
  /// The output of a program started with start().
  std::string log(const std::string& program) const;
  /// Starts the dashboard and waits for its port.
  test::Child start_dashboard(const std::map<std::string, std::string>& env = {}) const;
  /// bin/deployctl --config <config> args... (60 s at most); status and stdout+stderr.
  test::RunResult deployctl(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {}) const;
};

/// The whole pipeline on a site: a migrated database of its own, the real receiver, router,
/// deployer (deployment "site") and dashboard, all started and listening.
struct Pipeline {
  explicit Pipeline(const nlohmann::json& steps,
                    const nlohmann::json& deployment_extra = nlohmann::json::object());
  /// Every program's output, for failure messages.
  std::string logs() const;
  /// `deployctl send-test-push site` (waits for the deploy; exit 0 when it succeeded).
  test::RunResult send_test_push() const;

  test::Database db;
  Site site;
  std::map<std::string, std::string> env;  ///< DATABASE_URL
  std::optional<test::Child> receiver, router, deployer, dashboard;
};

/// GET `path` with the session cookie `cookie` ("" for none).
test::http::Response get(unsigned short port, const std::string& path,
                         const std::string& cookie = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {});
/// POST an urlencoded form.
test::http::Response post(unsigned short port, const std::string& path,
                          const std::map<std::string, std::string>& form,
                          const std::string& cookie = "");
/// Logs in; returns "dashboard_session=<token>" (throws when the login does not answer 303).
std::string login(unsigned short port, const std::string& name, const std::string& password);
/// The value of the first csrf field of a page.
std::string csrf_of(const std::string& html);

}  // namespace dashboard_test
