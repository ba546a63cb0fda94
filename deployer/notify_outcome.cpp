// notify_outcome.cpp: see notify_outcome.hpp.
#include "deployer/notify_outcome.hpp"

#include "common/notification.hpp"
#include "common/process.hpp"
#include "common/release_layout.hpp"
#include "deployer/outbox.hpp"

namespace deployer {

namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// The commit's author and subject: from the payload when its head_commit is this commit (every
// webhook push), else from git in the deployment's path (replays). Empty when neither knows.
boost::asio::awaitable<void> commit_info(Context& context, const common::Entry& entry,
                                         const std::string& sha,
                                         common::NotificationMessage& message) {
  const auto head = entry.payload.find("head_commit");
  if (head != entry.payload.end() && head->is_object() && head->value("id", "") == sha) {
    if (auto it = head->find("message"); it != head->end() && it->is_string()) {
      message.subject = first_line(it->get<std::string>());
    }
    if (auto author = head->find("author"); author != head->end() && author->is_object()) {
      message.author = author->value("name", "");
    }
    co_return;
  }
  common::Command command;
  command.argv = {"git", "log", "-1", "--format=%an%n%s", sha, "--"};
  command.cwd = context.deployment.path;
  if (context.deployment.releases) {
    // Release mode: the objects are in the bare repository at the root, not in a work tree.
    const common::ReleaseLayout layout(context.deployment.path);
    command.argv.insert(command.argv.begin() + 1, "--git-dir=" + layout.repository().string());
  }
  command.env = context.base_env;
  command.timeout = std::chrono::seconds(10);
  std::string output;
  // Named, not a temporary inside the co_await (GCC 12 would destroy a temporary twice).
  const common::OutputSinks sinks{[&output](std::string_view chunk) { output.append(chunk); },
                                  [](std::string_view) {}};
  auto outcome = co_await common::run_command(command, sinks, context.stop);
  if (!outcome.succeeded()) co_return;
  const auto newline = output.find('\n');
  if (newline == std::string::npos) co_return;
  message.author = output.substr(0, newline);
  message.subject = first_line(output.substr(newline + 1));
}

}  // namespace

boost::asio::awaitable<void> notify_outcome(Context& context, const common::Entry& entry,
                                            const common::Push& push, std::string outcome,
                                            std::chrono::steady_clock::duration elapsed,
                                            std::optional<ledger::RunId> run, std::string error) {
  if (context.config.notify.empty() || !context.reports) co_return;
  common::NotificationMessage message;
  message.deployment = context.deployment.name;
  message.sha = push.after;
  message.duration_s = std::chrono::duration<double>(elapsed).count();
  message.error = std::move(error);
  if (run) message.log_url = common::run_page_url(context.config, *run);
  if (outcome == "succeeded") {
    // The newest finished deploy before this one, ignoring entries that were not deployed.
    const auto history = co_await with_ledger(
        context, "history", [&] { return context.ledger.history(context.ledger_name, 50); });
    for (const auto& earlier : history.recent) {
      if (run && earlier.id == *run) continue;
      if (earlier.outcome == ledger::RunOutcome::failed) outcome = "recovered";
      if (earlier.outcome == ledger::RunOutcome::failed ||
          earlier.outcome == ledger::RunOutcome::succeeded) {
        break;
      }
    }
  }
  message.outcome = std::move(outcome);
  co_await commit_info(context, entry, push.after, message);
  enqueue_notifications(context.config, message);
}

}  // namespace deployer
