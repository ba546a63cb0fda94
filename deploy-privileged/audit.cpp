// audit.cpp: formatting with common::log's escaping, then syslog or an append-only file.
#include "deploy-privileged/audit.hpp"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <chrono>

#include "common/log.hpp"

namespace privileged {

void audit(const AuditRecord& record, const std::optional<std::filesystem::path>& log_file) {
  std::string args;
  for (const auto& a : record.args) args += (args.empty() ? "" : " ") + a;
  std::vector<common::log::Field> fields{
      {"caller", record.caller}, {"command", record.command}, {"args", args}};
  if (!record.reason.empty()) fields.emplace_back("reason", record.reason);
  const auto level = record.outcome == "ok" ? common::log::Level::info : common::log::Level::warn;
  std::string line = common::log::format_line(std::chrono::system_clock::now(), level,
                                              "deploy-privileged", record.outcome, fields);
  if (!log_file) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    ::openlog("deploy-privileged", LOG_PID, LOG_AUTHPRIV);
    ::syslog(LOG_NOTICE, "%s", line.c_str());
    ::closelog();
    return;
  }
  const int fd = ::open(log_file->c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return;
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

}  // namespace privileged
