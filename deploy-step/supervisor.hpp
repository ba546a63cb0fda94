// supervisor.hpp: deploy-step, the small program every step of a run_as deployment runs under.
//
// The deployer starts it as the deployment's user (`sudo -n -u <run_as> -- deploy-step`) and
// writes one request line on its stdin (common/step_request.hpp),
// then keeps stdin open. deploy-step becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
// every process the step starts stays its descendant even after setsid or a double fork, runs
// the step (stdin /dev/null, stdout/stderr its own, no other descriptor, exactly the requested
// environment with HOME, USER and LOGNAME set from the real user, argv[0] looked up in that
// environment's PATH), and ends every descendant:
//   - when the step exits: whatever it left behind gets SIGTERM, then SIGKILL after 1 s at most;
//   - when stdin reaches end of file (the deployer's timeout or stop, or the deployer died) or
//     SIGTERM/SIGINT/SIGHUP arrives (sudo relays them; PR_SET_PDEATHSIG sends SIGTERM when sudo
//     dies): SIGTERM to every descendant, SIGKILL after grace_ms (stop_grace_ms when the
//     deployer wrote 's' first: it is shutting down).
// It exits with the step's exit status, or ends itself with the step's signal, once it has no
// descendant left. Why a subreaper and not a cgroup: this runs as an unprivileged user on
// machines with cgroup v1 only (no cgroup.kill, no delegation), and the deployer, another user,
// cannot signal the step's processes itself; the subreaper sees every descendant without
// privileges, and can signal them because they run as its own user.
#pragma once

#include <string>
#include <vector>

#include "common/step_request.hpp"

namespace step {

using Request = common::StepRequest;

/// Reads one line (up to '\n', at most kMaxStepRequest) from `fd`, nothing past it. Throws on
/// end of file before the '\n' or on overflow.
std::string read_request_line(int fd);

/// Runs the request as described in the file comment; returns the exit status to exit with
/// (for a step killed by a signal it re-raises that signal and does not return).
int supervise(const Request& request, int control_fd);

/// The pids of every descendant of `pid` (by the parent links in /proc), not `pid` itself.
std::vector<int> descendants(int pid);

}  // namespace step
