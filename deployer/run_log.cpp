// run_log.cpp: see run_log.hpp.
#include "deployer/run_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <system_error>

#include "common/log.hpp"
#include "common/timefmt.hpp"
#include "common/write_all.hpp"

namespace deployer {

namespace {
constexpr std::size_t kMaxLine = 64 * 1024;  // a runaway line without '\n' is cut here
}

bool run_left_unfinished(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  // The last "===" line is within the file's last lines: the ending is written last.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size <= 0) return false;
  const std::streamoff start = std::max<std::streamoff>(0, size - 8192);
  in.seekg(start);
  std::string tail(static_cast<std::size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<std::size_t>(in.gcount()));
  // The last line of ours: "<timestamp> === text" (a step's output line is "<timestamp> | ...").
  std::string last;
  std::size_t end = tail.size();
  while (end > 0 && last.empty()) {
    const std::size_t begin = tail.rfind('\n', end - 1);
    const std::size_t from = begin == std::string::npos ? 0 : begin + 1;
    const std::string line = tail.substr(from, end - from);
    const auto space = line.find(' ');
    if (space != std::string::npos && line.compare(space + 1, 4, "=== ") == 0) last = line;
    if (begin == std::string::npos) break;
    end = begin;
  }
  if (last.empty()) return true;  // output only: the run was still going when it ended
  // The lines deploy.cpp and coalesce.cpp write when a run ends.
  constexpr std::array<std::string_view, 4> endings = {
      "deploy succeeded in ", "rollback succeeded in ", "deploy failed after ", "; not deployed"};
  return std::none_of(endings.begin(), endings.end(), [&](std::string_view ending) {
    return last.find(ending) != std::string::npos;
  });
}

RunLog::RunLog(std::filesystem::path file, std::size_t tail_lines)
    : path_(std::move(file)), tail_lines_(tail_lines) {
  // O_APPEND: a re-run after a crash adds to the history instead of overwriting it.
  // O_CLOEXEC: steps must not inherit the log descriptor (they write through their pipe).
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot open run log " + path_.string());
  }
}

RunLog::~RunLog() {
  if (fd_ >= 0) ::close(fd_);
}

void RunLog::write_line(std::string_view marker, std::string_view text) {
  std::string line = common::utc_timestamp_ms(std::chrono::system_clock::now());
  line += ' ';
  line += marker;
  if (!text.empty()) {
    line += ' ';
    line += text;
  }
  line += '\n';
  if (const std::error_code ec = common::write_all(fd_, line); ec && !write_failed_) {
    write_failed_ = true;
    common::log::error("cannot write run log", {{"file", path_.string()}, {"error", ec.message()}});
  }
}

void RunLog::note(std::string_view text) {
  end_output();
  write_line("===", text);
}

void RunLog::output(std::string_view chunk) {
  while (!chunk.empty()) {
    auto newline = chunk.find('\n');
    if (newline == std::string_view::npos) {
      partial_.append(chunk);
      if (partial_.size() >= kMaxLine) end_output();
      return;
    }
    partial_.append(chunk.substr(0, newline));
    chunk.remove_prefix(newline + 1);
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    write_line("|", partial_);
    tail_.push_back(std::move(partial_));
    if (tail_.size() > tail_lines_) tail_.pop_front();
    partial_.clear();
  }
}

void RunLog::end_output() {
  if (partial_.empty()) return;
  output("\n");
}

bool RunLog::finish() {
  end_output();
  // fsync: the log is the evidence of what a run did; make it durable before the entry moves on,
  // so a power cut cannot leave a done/failed entry whose log is missing its end.
  if (::fsync(fd_) != 0 && !write_failed_) {
    write_failed_ = true;
    common::log::error("cannot fsync run log", {{"file", path_.string()},
                                                {"error", std::generic_category().message(errno)}});
  }
  return !write_failed_;
}

}  // namespace deployer
