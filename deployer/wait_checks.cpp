// wait_checks.cpp: see wait_checks.hpp.
#include "deployer/wait_checks.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "common/secrets.hpp"
#include "common/timefmt.hpp"
#include "deployer/checks.hpp"
#include "deployer/coalesce.hpp"
#include "deployer/notify_outcome.hpp"
#include "queue-layout/scan.hpp"

namespace deployer {

namespace {

using Wall = std::chrono::system_clock;

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// The nudge file's modification time in nanoseconds, 0 while it does not exist.
long long nudge_stamp(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return 0;
  return static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

std::vector<std::string> queued(const Context& context) {
  queue_layout::Listing listing;
  (void)queue_layout::list_entries(context.queue, listing);
  return listing.entries;
}

ChecksApi checks_api(const Context& context) {
  auto url = common::parse_url(context.config.github.api_url);
  if (!url.ok()) {
    throw DeployFailure("checks", "github.api_url: " + url.error().message);
  }
  return ChecksApi{url.value(), common::github_token(context.config),
                   context.deployment.repository};
}

}  // namespace

std::filesystem::path checks_nudge(const common::Config& config, const std::string& deployment) {
  return config.state_dir / "checks" / deployment;
}

boost::asio::awaitable<std::optional<std::string>> wait_for_checks(Context& context, RunLog& log,
                                                                   const common::Entry& data,
                                                                   const std::string& entry,
                                                                   const common::Push& push) {
  using namespace std::chrono;
  const common::Deployment& deployment = context.deployment;
  const common::CheckWait& wait = *deployment.wait_for_checks;
  const ChecksApi api = checks_api(context);
  // The deployer's own commit statuses are not checks to wait for.
  std::set<std::string> ignored;
  for (const auto& [name, d] : context.config.deployments) ignored.insert("deploy/" + name);
  const auto poll = seconds(context.config.github.checks_poll_s);
  const auto nudge = checks_nudge(context.config, deployment.name);

  log.note("waiting for checks (" + (wait.all ? std::string("all") : joined(wait.names)) + ") of " +
           push.after);
  std::optional<Wall::time_point> deadline;
  std::vector<std::string> recorded_pending{"-"};  // never a real list: the first look records
  std::string last_error;
  long long seen_nudge = nudge_stamp(nudge);
  std::vector<std::string> seen_queue = queued(context);
  auto next_look = steady_clock::now();
  // Bounded: each pass sleeps at most a second, and the loop ends at the deadline.
  for (;;) {
    if (context.stop.requested()) throw Stopped();
    if (steady_clock::now() >= next_look) {
      next_look = steady_clock::now() + poll;
      auto verdict = co_await look_at_checks(api, wait, push.after, ignored, context.stop);
      if (context.stop.requested()) throw Stopped();
      std::vector<std::string> pending;
      if (verdict.ok()) {
        last_error.clear();
        if (verdict->state == CheckVerdict::State::passed) {
          log.note(deadline ? "checks passed: deploying" : "checks passed (nothing to wait for)");
          if (deadline) {
            // Back to running: `deployctl status` must not say "waiting" during the build.
            co_await with_ledger(context, "claim", [&] {
              context.ledger.claim(context.ledger_name, entry, push.after, push.ref);
            });
          }
          co_return std::nullopt;
        }
        if (verdict->state == CheckVerdict::State::failed) {
          throw DeployFailure("checks", "check " + verdict->failed + " " + verdict->conclusion);
        }
        pending = verdict->pending;
      } else if (verdict.error().message != last_error) {
        last_error = verdict.error().message;
        log.note("GitHub's API does not answer: " + last_error + "; asking again");
        common::log::warn("cannot read the checks, asking again", {{"deployment", deployment.name},
                                                                   {"entry", entry},
                                                                   {"sha", push.after},
                                                                   {"error", last_error}});
      }
      if (!deadline || (verdict.ok() && pending != recorded_pending)) {
        const std::string reason =
            "waiting for checks: " +
            (verdict.ok() ? joined(pending) : std::string("GitHub's API does not answer"));
        // In whole microseconds, as the ledger keeps it: equal to what comes back only when this
        // call recorded it, i.e. the entry's first wait (a restarted deployer gets the old one).
        const Wall::time_point first_deadline = time_point_cast<microseconds>(
            Wall::now() + duration_cast<Wall::duration>(wait.timeout));
        const bool had_deadline = deadline.has_value();
        deadline = co_await with_ledger(context, "wait_for_checks", [&] {
          return context.ledger.wait_for_checks(context.ledger_name, entry, first_deadline, reason);
        });
        if (!had_deadline && *deadline == first_deadline) {
          // The error field names what it waits for: "<deployment>: waiting for checks: <sha>
          // ...: ci/lint, test".
          const std::string what = verdict.ok() ? joined(pending) : "GitHub's API does not answer";
          co_await notify_outcome(context, data, push, "waiting", Wall::duration::zero(),
                                  std::nullopt, what);
        }
        if (verdict.ok()) {
          recorded_pending = pending;
          log.note(reason + " (until " + common::utc_timestamp_ms(*deadline) + ")");
          common::log::info("waiting for checks", {{"deployment", deployment.name},
                                                   {"entry", entry},
                                                   {"sha", push.after},
                                                   {"pending", joined(pending)},
                                                   {"until", common::utc_timestamp_ms(*deadline)}});
        }
      }
    }
    if (Wall::now() >= *deadline) {
      const std::string waited =
          "timed out after " + std::to_string(wait.timeout.count()) + " s waiting for checks";
      if (!last_error.empty()) {
        throw DeployFailure("checks", waited + "; GitHub's API: " + last_error).as_transient();
      }
      throw DeployFailure("checks", waited + ": " + joined(recorded_pending));
    }
    // A newer push waiting in the queue that contains this commit: deploying it deploys this.
    if (auto now_queued = queued(context); now_queued != seen_queue) {
      seen_queue = std::move(now_queued);
      if (deployment.coalesce) {
        if (auto superseded = co_await superseding_push(context, log, entry, push)) {
          co_return superseded->reason;
        }
      }
    }
    // A check webhook arrived: look now instead of at the next poll.
    if (const long long stamp = nudge_stamp(nudge); stamp != seen_nudge) {
      seen_nudge = stamp;
      next_look = steady_clock::now();
      continue;
    }
    const auto until_look = duration_cast<milliseconds>(next_look - steady_clock::now());
    const auto until_deadline = duration_cast<milliseconds>(*deadline - Wall::now());
    co_await pause(context.stop, std::clamp(std::min(until_look, until_deadline) + milliseconds(1),
                                            milliseconds(1), milliseconds(1000)));
  }
}

}  // namespace deployer
