// Helpers for deployctl's tests: the real bin/deployctl run with separate stdout and stderr, and
// a "site" (a temp folder with a real git origin, the deployment's clone, and a configuration
// file naming both) to run it against.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "queue-layout/layout.hpp"
#include "tests/support/git.hpp"
#include "tests/support/temp_dir.hpp"

namespace deployctl_test {

inline constexpr const char* kSecret = "deployctl-test-secret";

struct Output {
  int status = -1;
  std::string out;
  std::string err;
};

/// Runs bin/deployctl with `args`, the current environment plus `env`; 60 s at most.
Output deployctl(const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env = {});

/// Number of lines in `text` (a last line without "\n" counts).
int count_lines(const std::string& text);

/// A deployment "site" (repository example/site, branch main) whose path is a clone of a real
/// local origin with one commit, in a fresh temp folder with its configuration file.
class Site {
 public:
  /// `extra` is merged into the configuration's top level (e.g. {"listen": {...}}).
  explicit Site(const nlohmann::json& extra = nlohmann::json::object());

  test::TempDir dir{"deployctl-test"};
  test::GitOrigin origin{dir / "repo"};
  std::string first_sha;
  std::filesystem::path config;
  queue_layout::Layout layout{dir / "var"};

  /// {"--config", config, args...}
  std::vector<std::string> args(const std::vector<std::string>& rest) const;
  /// Writes a file into a folder of the state directory (creating the folder).
  void put(const std::filesystem::path& folder, const std::string& name,
           const std::string& text) const;
};

/// A plausible push entry for example/site at `sha` (with delivery id `id`).
std::string push_entry(const std::string& sha, const std::string& id = "d1");

/// True for a lowercase version-4 UUID (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx).
bool is_uuid_v4(const std::string& text);

/// The entry name in send-test-push's "entry <name> (...)" line; empty when there is none.
std::string entry_from(const std::string& out);

/// A 40-digit sha made of one repeated hex digit.
std::string fake_sha(char digit);

}  // namespace deployctl_test
