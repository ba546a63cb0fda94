// supervisor.cpp: the request, the step's process, and ending every descendant.
#include "deploy-step/supervisor.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "common/write_all.hpp"

namespace step {
namespace {

constexpr auto kLeftoverGrace = std::chrono::seconds(1);
constexpr auto kKillBound = std::chrono::seconds(10);

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  std::string value;
  for (const auto& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      value = e.substr(name.size() + 1);  // the last one wins, as in the deployer
    }
  }
  return value;
}

// execve needs a path: argv[0] itself when it has a '/', else the first executable of that name
// in the step's PATH (not deploy-step's own).
std::string resolve(const std::string& program, const std::vector<std::string>& env,
                    const std::filesystem::path& cwd) {
  if (program.find('/') != std::string::npos) return program;
  const std::string path = env_value(env, "PATH");
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::filesystem::path dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    if (dir.is_relative()) dir = cwd / dir;
    const auto candidate = dir / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "";
}

// The real user's HOME/USER/LOGNAME replace whatever the request says: they describe who the
// step runs as, which only this process knows for sure.
std::vector<std::string> final_environment(const std::vector<std::string>& requested) {
  std::vector<std::string> env;
  for (const auto& e : requested) {
    if (e.starts_with("HOME=") || e.starts_with("USER=") || e.starts_with("LOGNAME=")) continue;
    env.push_back(e);
  }
  if (const passwd* pw = ::getpwuid(::getuid())) {
    env.push_back(std::string("HOME=") + pw->pw_dir);
    env.push_back(std::string("USER=") + pw->pw_name);
    env.push_back(std::string("LOGNAME=") + pw->pw_name);
  }
  return env;
}

[[noreturn]] void exec_step(const Request& request, const sigset_t& original_mask) {
  ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) ::signal(sig, SIG_DFL);
  // Its own process group, so a shell's job control inside the step behaves as usual.
  ::setpgid(0, 0);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || ::dup2(null, STDIN_FILENO) < 0) ::_exit(127);
  ::close_range(3, ~0U, 0);
  auto fail = [&](const std::string& what) {
    const std::string line = "deploy-step: " + what + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    ::_exit(127);
  };
  if (::chdir(request.cwd.c_str()) != 0) fail("cannot enter " + request.cwd.string());
  const auto env = final_environment(request.env);
  const std::string program = resolve(request.argv[0], env, request.cwd);
  if (program.empty()) {
    errno = ENOENT;
    fail("cannot run " + request.argv[0] + " (not found in the step's PATH)");
  }
  std::vector<char*> args;
  for (const auto& a : request.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(program.c_str(), args.data(), envp.data());
  fail("cannot run " + program);
  ::_exit(127);  // not reached: fail exits
}

// Everything this process knows about its children while it supervises.
// The request's "files": each written to a new 0600 file in /tmp, as this (the step's) user,
// its path added to the step's environment under the file's name. Removed again (remove(), or
// the destructor) once the step and everything it started have ended.
class RequestFiles {
 public:
  explicit RequestFiles(Request& request) {
    for (const auto& [name, content] : request.files) {
      std::string path = "/tmp/deploy-step-XXXXXX";
      const int fd = ::mkstemp(path.data());  // 0600, O_EXCL: nobody else can have it open
      if (fd < 0) {
        const std::string why = std::strerror(errno);
        remove();  // a constructor that throws gets no destructor: the earlier files go now
        throw std::runtime_error("cannot create a file for " + name + ": " + why);
      }
      paths_.push_back(path);
      const auto error = common::write_all(fd, content);
      ::close(fd);
      if (error) {
        remove();
        throw std::runtime_error("cannot write " + path + " for " + name + ": " + error.message());
      }
      request.env.push_back(name + "=" + path);
    }
  }
  ~RequestFiles() { remove(); }
  void remove() {
    for (const auto& path : paths_) ::unlink(path.c_str());
    paths_.clear();
  }
  RequestFiles(const RequestFiles&) = delete;
  RequestFiles& operator=(const RequestFiles&) = delete;

 private:
  std::vector<std::string> paths_;
};

struct State {
  pid_t step = -1;
  std::optional<int> step_status;  // wait status, once reaped
  bool stopping = false;           // a stop was asked for (stdin EOF or a signal)
  bool shutdown = false;           // the deployer said 's': its shutdown, the short grace
};

// Reaps every child that has ended; false once there is no child at all.
bool reap(State& state) {
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0) return true;
    if (pid < 0) return errno != ECHILD;
    if (pid == state.step) state.step_status = status;
  }
}

void signal_all(int sig) {
  for (int pid : descendants(::getpid())) ::kill(pid, sig);
}

// Sends `sig` to every descendant and waits up to `grace` for all to end; then SIGKILL until none
// is left (repeated: a process may fork between two passes, and orphans of killed processes are
// reparented here, the subreaper).
void end_all(State& state, int sig, std::chrono::milliseconds grace) {
  signal_all(sig);
  const auto soft_deadline = std::chrono::steady_clock::now() + grace;
  while (reap(state) && std::chrono::steady_clock::now() < soft_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto hard_deadline = std::chrono::steady_clock::now() + kKillBound;
  while (reap(state) && std::chrono::steady_clock::now() < hard_deadline) {
    signal_all(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::string read_request_line(int fd) {
  std::string line;
  char c = 0;
  while (true) {
    const ssize_t n = ::read(fd, &c, 1);  // byte by byte: nothing after the line is consumed
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw std::runtime_error(std::string("cannot read the request: ") + std::strerror(errno));
    if (n == 0) throw std::runtime_error("no request on standard input");
    if (c == '\n') return line;
    line += c;
    if (line.size() > common::kMaxStepRequest) throw std::runtime_error("the request is too large");
  }
}

std::vector<int> descendants(int pid) {
  std::multimap<int, int> children;  // parent -> child
  if (DIR* dir = ::opendir("/proc")) {
    while (const dirent* e = ::readdir(dir)) {
      char* end = nullptr;
      const long child = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || child <= 0) continue;
      std::ifstream in("/proc/" + std::string(e->d_name) + "/stat");
      std::string stat;
      if (!std::getline(in, stat)) continue;  // gone meanwhile
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the
      // last ')'.
      const auto close = stat.rfind(')');
      if (close == std::string::npos || close + 4 > stat.size()) continue;
      char state = 0;
      int parent = 0;
      if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &parent) != 2) continue;
      children.emplace(parent, static_cast<int>(child));
    }
    ::closedir(dir);
  }
  std::vector<int> out;
  std::vector<int> todo{pid};
  while (!todo.empty()) {
    const int p = todo.back();
    todo.pop_back();
    auto [first, last] = children.equal_range(p);
    for (auto it = first; it != last; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

int supervise(const Request& original_request, int control_fd) {
  Request request = original_request;
  RequestFiles files(request);
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    throw std::runtime_error(std::string("cannot become a child subreaper: ") +
                             std::strerror(errno));
  }
  sigset_t mask, original;
  sigemptyset(&mask);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, &original);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
  // When sudo (the parent) dies, a SIGTERM arrives through the signalfd like any stop. Checked
  // after setting it: the parent may have died before.
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  ::signal(SIGPIPE, SIG_IGN);

  State state;
  state.step = ::fork();
  if (state.step < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (state.step == 0) exec_step(request, original);
  if (::getppid() != parent) state.stopping = true;

  bool control_open = true;
  while (!state.step_status && !state.stopping) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {control_fd, POLLIN, 0}};
    const int ready = ::poll(fds, control_open ? 2 : 1, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(sfd, &info, sizeof info) == sizeof info && info.ssi_signo != SIGCHLD) {
        state.stopping = true;
      }
      reap(state);
    }
    if (control_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[256];
      const ssize_t n = ::read(control_fd, buffer, sizeof buffer);
      if (n > 0 && std::memchr(buffer, 's', static_cast<std::size_t>(n)) != nullptr) {
        state.shutdown = true;
      }
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        state.stopping = true;  // the deployer closed its end: a timeout or a stop
        control_open = false;
      }
    }
  }
  if (state.stopping) {
    end_all(state, SIGTERM, state.shutdown ? request.stop_grace : request.grace);
  } else {
    end_all(state, SIGTERM, std::chrono::duration_cast<std::chrono::milliseconds>(kLeftoverGrace));
  }
  ::close(sfd);

  // Every process of the step has ended: nothing reads the files any more. Removed before the
  // signal below, which would end this process without running a destructor.
  files.remove();
  if (!state.step_status) return 128 + SIGKILL;
  const int status = *state.step_status;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    // End the same way, so sudo and the deployer report "killed by signal N"; no core file.
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    const int sig = WTERMSIG(status);
    ::signal(sig, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &original, nullptr);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
    ::kill(::getpid(), sig);
    return 128 + sig;
  }
  return 1;
}

}  // namespace step
