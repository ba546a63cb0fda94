// audit.hpp: one line per call of the root helper, to syslog (authpriv) or the policy's log_file.
//
//   ... notice deploy-privileged: refused caller="uid 1001 (uid 1001 via sudo)"
//   command=nginx-install
//       args="durhack other.conf /srv/x" reason="site other.conf is not allowed for durhack"
//
// The log file is opened O_APPEND|O_NOFOLLOW with mode 0600 and each line goes out in one
// write(2). Logging never throws: a helper that cannot log still answers its caller.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace privileged {

struct AuditRecord {
  std::string caller;
  std::string command;
  std::vector<std::string> args;
  std::string outcome;  ///< "ok", "refused", "failed"
  std::string reason;   ///< empty when ok
};

/// Writes `record` to `log_file` when given, else to syslog.
void audit(const AuditRecord& record, const std::optional<std::filesystem::path>& log_file);

}  // namespace privileged
