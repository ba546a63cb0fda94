// cmd_send_test_push.cpp: `deployctl send-test-push DEPLOYMENT [--sha SHA] [--no-wait]`: checks
// the whole path without GitHub. Builds a realistic GitHub push delivery for the deployment's
// repository and branch (push_payload.hpp), signs it with the first configured webhook secret
// (X-Hub-Signature-256), and posts it to the running receiver at listen.host:listen.port over
// plain HTTP, with a fresh X-GitHub-Delivery UUID and the repository's stable X-GitHub-Hook-ID.
// SHA defaults to the tip of the branch in the deployment's remote (`git ls-remote`, run in the
// deployment's path). Prints the receiver's answer and the entry name, then (unless --no-wait)
// follows the entry through the folders until its deploy is over (follow.hpp).
//
// Exit status: 0 when the receiver accepted it (and, when waiting, the entry finished in done/:
// deployed, or skipped as stale/superseded, which the last line says); 1 when the receiver
// refused it or cannot be reached, the deploy failed, or the wait timed out. Writes nothing
// itself: the receiver does.
#include <iostream>

#include "common/http_client.hpp"
#include "common/secrets.hpp"
#include "common/signature.hpp"
#include "common/timefmt.hpp"
#include "common/validate.hpp"
#include "deployctl/commands.hpp"
#include "deployctl/follow.hpp"
#include "deployctl/git_info.hpp"
#include "deployctl/lookup.hpp"
#include "deployctl/push_payload.hpp"

namespace deployctl {
namespace {

// The receiver listens on listen.host:listen.port without TLS (nginx does TLS in front of it).
// "0.0.0.0" and "::" (listen on every address) mean this machine's loopback.
common::Url receiver_url(const common::Config& config) {
  common::Url url;
  url.tls = false;
  url.host = config.listen.host;
  if (url.host.empty() || url.host == "0.0.0.0") url.host = "127.0.0.1";
  if (url.host == "::") url.host = "::1";
  url.port = std::to_string(config.listen.port);
  return url;
}

struct SendOptions {
  std::string deployment;
  std::string sha;
  bool no_wait = false;
  unsigned timeout_s = 300;
};

int run_send(const Context& context, SendOptions options) {
  if (!options.sha.empty()) {
    for (auto& c : options.sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto check = common::check_sha(options.sha); !check.ok()) {
      throw UsageError("--sha: " + check.error().message + " (give the full commit id)");
    }
  }
  const common::Config config = load(context);
  const common::Deployment& deployment = find_deployment(config, options.deployment);
  // The repository's own secrets when it has them (the receiver accepts nothing else for it).
  const std::vector<std::string> secrets =
      common::read_secrets(common::webhook_secret_sources(config, deployment.repository));
  const std::string sha = options.sha.empty() ? remote_tip(deployment) : options.sha;

  TestPush push{deployment.repository,
                deployment.branch,
                sha,
                requesting_user(),
                common::utc_timestamp_ms(std::chrono::system_clock::now()),
                commit_info(deployment, sha)};
  const std::string body = push_payload(push).dump();
  const std::string delivery = random_uuid();
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"User-Agent", "GitHub-Hookshot/deployctl"},
      {"Accept", "*/*"},
      {"Content-Type", "application/json"},
      {"X-GitHub-Event", "push"},
      {"X-GitHub-Delivery", delivery},
      {"X-GitHub-Hook-ID", hook_id_for(deployment.repository)},
      {"X-GitHub-Hook-Installation-Target-Type", "repository"},
      {"X-Hub-Signature-256", common::github_signature(secrets.front(), body)},
  };
  common::HttpRequest request;
  request.method = "POST";
  request.url = receiver_url(config);
  request.target = "/github-webhook";
  request.headers = headers;
  request.body = body;
  request.timeout = std::chrono::seconds(15);
  const std::string where =
      (request.url.host.find(':') != std::string::npos ? "[" + request.url.host + "]"
                                                       : request.url.host) +
      ":" + request.url.port;
  const auto sent = common::http_request_sync(request);
  if (!sent.ok()) {
    const std::string& error = sent.error().message;
    if (error.starts_with("connect") || error.starts_with("resolve")) {
      throw Failure("cannot connect to the receiver at " + where + ": " + error +
                    " (is it running? `pm2 ls` shows it)");
    }
    throw Failure("the receiver at " + where + " did not answer: " + error);
  }
  const common::HttpResponse& answer = sent.value();
  std::string answer_body = answer.body;
  while (!answer_body.empty() && answer_body.back() == '\n') answer_body.pop_back();
  std::cout << "receiver answered " << answer.status << " " << answer.reason << ": " << answer_body
            << "\n";
  if (answer.status < 200 || answer.status > 299) {
    throw Failure("the receiver refused the push with " + std::to_string(answer.status) +
                  " (for 401: is the secret the receiver reads the one this configuration names?)");
  }
  const auto parsed = nlohmann::json::parse(answer.body, nullptr, false);
  const std::string entry =
      parsed.is_object() ? parsed.value("entry", std::string()) : std::string();
  std::cout << "entry " << (entry.empty() ? "(not named by the receiver)" : entry) << " (delivery "
            << delivery << ", " << deployment.repository << "@" << deployment.branch << " " << sha
            << ")\n";
  if (options.no_wait || entry.empty()) return 0;
  if (!deployment.enabled) {
    std::cout << "deployment " << deployment.name << " is disabled: the router will not route it\n";
    return 0;
  }
  std::cout.flush();
  const FollowResult result = follow_entry(
      config, deployment, entry, std::chrono::seconds(options.timeout_s), [](Stage stage) {
        if (stage == Stage::done || stage == Stage::failed || stage == Stage::rejected ||
            stage == Stage::not_routed) {
          return;  // the outcome line says it
        }
        std::cout << "... " << describe(stage) << "\n" << std::flush;
      });
  return report_outcome(result, deployment.name, entry, options.timeout_s, std::cout);
}

}  // namespace

void add_send_test_push(CLI::App& app, Context& context) {
  auto options = std::make_shared<SendOptions>();
  CLI::App* command = app.add_subcommand(
      "send-test-push",
      "Post a signed GitHub push for a deployment to the running receiver and follow its deploy");
  command->add_option("DEPLOYMENT", options->deployment, "the deployment (a key of deployments)")
      ->required();
  command->add_option("--sha", options->sha,
                      "the commit to push (default: the tip of the branch in the remote)");
  command->add_flag("--no-wait", options->no_wait,
                    "return once the receiver accepted it, without following the deploy");
  command->add_option("--timeout", options->timeout_s, "how long to follow the deploy, seconds")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  command->callback([&context, options] {
    context.action = [&context, options] { return run_send(context, *options); };
  });
}

}  // namespace deployctl
