// cmd_notify_test.cpp: `deployctl notify-test NAME`: sends a test message to the notification
// NAME of the configuration, directly (not through the outbox), with the deployer's sender, so
// the URL, the secret and the receiving end are checked in one go. Prints the HTTP status; exit 0
// for a 2xx answer, 1 for anything else (an error answer, no answer, an unset secret), 2 for a
// NAME that is not configured.
#include <iostream>

#include "common/http_client.hpp"
#include "common/notification.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/lookup.hpp"

namespace deployctl {
namespace {

int run_notify_test(const Context& context, const std::string& name) {
  const common::Config config = load(context);
  const common::Notification* notification = nullptr;
  std::string known;
  for (const auto& candidate : config.notify) {
    if (candidate.name == name) notification = &candidate;
    known += (known.empty() ? "" : ", ") + candidate.name;
  }
  if (notification == nullptr) {
    throw UsageError("no notification named \"" + name + "\" in " + config.file.string() +
                     " (known: " + (known.empty() ? "none" : known) + ")");
  }
  common::NotificationMessage message;
  message.deployment = notification->deployments.empty() ? config.deployments.begin()->first
                                                         : notification->deployments.front();
  message.outcome = "test";
  message.error = "";
  const std::string body = common::render_notification(notification->type, message);
  auto request = common::notification_request(*notification, body);
  if (!request.ok()) {
    throw Failure("notification \"" + name + "\" not sent: " + request.error().message);
  }
  auto reply = common::http_request_sync(*request);
  if (!reply.ok()) {
    throw Failure("notification \"" + name + "\" not delivered: " + reply.error().message);
  }
  if (reply->status < 200 || reply->status >= 300) {
    throw Failure("notification \"" + name + "\" not delivered: HTTP " +
                  std::to_string(reply->status));
  }
  std::cout << "notification \"" << name << "\" delivered: HTTP " << reply->status << "\n";
  return 0;
}

}  // namespace

void add_notify_test(CLI::App& app, Context& context) {
  CLI::App* command =
      app.add_subcommand("notify-test", "Send a test message to one configured notification");
  auto name = std::make_shared<std::string>();
  command->add_option("NAME", *name, "a name from the configuration's \"notify\" list")->required();
  command->callback([&context, name] {
    context.action = [&context, name] { return run_notify_test(context, *name); };
  });
}

}  // namespace deployctl
