// probe.cpp: see probe.hpp.
#include "deployer/probe.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "common/http_client.hpp"
#include "deployer/context.hpp"
#include "deployer/errors.hpp"
#include "deployer/steps.hpp"

namespace deployer {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// What one poll loop needs to know about an answer.
using Judge = std::function<bool(unsigned status, const std::string& body)>;

std::string describe(const common::Result<common::HttpResponse>& answer) {
  if (!answer.ok()) return answer.error().message;
  std::string body = answer->body.substr(0, 120);
  for (char& c : body) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) c = ' ';
  }
  return "status " + std::to_string(answer->status) +
         (body.empty() ? "" : ", body \"" + body + "\"");
}

// The poll loop shared by preflight and health check. `gave_up` is asked before each request:
// a preflight whose program has ended stops polling at once.
asio::awaitable<void> poll(const std::string& stage, const common::Url& url,
                           const std::string& target, const common::PollSettings& settings,
                           const Judge& good,
                           const std::function<std::optional<std::string>()>& gave_up, RunLog& log,
                           common::StopSignal& stop) {
  const auto deadline = Clock::now() + settings.timeout;
  const auto request_timeout =
      std::max<std::chrono::milliseconds>(settings.interval, std::chrono::seconds(1));
  std::uint32_t in_a_row = 0;
  std::string last = "no answer yet";
  std::string noted;
  for (;;) {
    if (stop.requested()) throw Stopped();
    if (auto why = gave_up()) throw DeployFailure(stage, *why + "; last answer: " + last);
    common::HttpRequest request;
    request.url = url;
    request.target = target;
    request.timeout = std::min<std::chrono::milliseconds>(
        request_timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::max(deadline - Clock::now(), Clock::duration::zero())) +
                             std::chrono::milliseconds(1));
    request.max_body = 64 * 1024;
    const auto answer = co_await common::http_request(request, stop);
    if (stop.requested()) throw Stopped();
    last = describe(answer);
    const bool ok = answer.ok() && good(answer->status, answer->body);
    in_a_row = ok ? in_a_row + 1 : 0;
    if (last != noted) {
      log.note(stage + ": " + (ok ? "good answer: " : "not yet: ") + last);
      noted = last;
    }
    if (in_a_row >= settings.successes) {
      log.note(stage + " passed: " + std::to_string(in_a_row) + " good answer(s) in a row");
      co_return;
    }
    if (Clock::now() + settings.interval > deadline) {
      throw DeployFailure(
          stage, "no " + std::to_string(settings.successes) + " good answer(s) in a row within " +
                     std::to_string(settings.timeout.count()) + " s; last answer: " + last);
    }
    co_await pause(stop, settings.interval);
  }
}

}  // namespace

unsigned free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  unsigned port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

bool preflight_answer_ok(unsigned status) {
  return status >= 200 && status < 300;
}

bool health_answer_ok(const common::HealthCheck& check, const std::string& expected_body,
                      unsigned status, const std::string& body) {
  if (status != check.expect_status) return false;
  return !check.expect_body || body.find(expected_body) != std::string::npos;
}

asio::awaitable<void> run_preflight(const PreflightInput& input, RunLog& log,
                                    common::StopSignal& stop) {
  const common::Preflight& preflight = *input.deployment.preflight;
  const unsigned port = free_loopback_port();
  if (port == 0) throw DeployFailure("preflight", "no free loopback port");
  auto env = step_environment(input.base_env, input.deployment, preflight.step, input.vars);
  // The port replaces any value of that variable the environment layers gave (a live app's PORT).
  const std::string prefix = preflight.port_env + "=";
  std::erase_if(env, [&](const std::string& entry) { return entry.starts_with(prefix); });
  env.push_back(prefix + std::to_string(port));
  // The program runs until the poll is over (its own timeout is a backstop: the poll ends first).
  const common::Command command =
      deployment_command(input.deployment, step_argv(preflight.step, input.vars), input.release_dir,
                         std::move(env), preflight.poll.timeout + std::chrono::seconds(30));
  log.note("preflight: " + display_command(command.argv) + " with " + preflight.port_env + "=" +
           std::to_string(port) + ", polling http://127.0.0.1:" + std::to_string(port) +
           preflight.path);

  // The program's own stop: requested when the poll is over, or when the deployer stops.
  common::StopSignal program_stop;
  auto forward = stop.on_stop([&program_stop] { program_stop.request(); });
  std::optional<common::Outcome> ended;
  auto executor = co_await asio::this_coro::executor;
  auto program = [&]() -> asio::awaitable<void> {
    const common::OutputSink sink = [&log](std::string_view chunk) { log.output(chunk); };
    ended = co_await common::run_command(command, sink, program_stop);
    log.end_output();
  };
  std::exception_ptr poll_error;
  auto checker = [&]() -> asio::awaitable<void> {
    try {
      common::Url url;
      url.tls = false;
      url.host = "127.0.0.1";
      url.port = std::to_string(port);
      const Judge good = [](unsigned status, const std::string&) {
        return preflight_answer_ok(status);
      };
      const std::function<std::optional<std::string>()> gave_up =
          [&]() -> std::optional<std::string> {
        if (!ended) return std::nullopt;
        return "the program ended before passing (" + ended->describe() + ")";
      };
      co_await poll("preflight", url, preflight.path, preflight.poll, good, gave_up, log, stop);
    } catch (...) {
      poll_error = std::current_exception();
    }
    // Whatever the result, the program and its group go now.
    program_stop.request();
  };
  auto [order, program_error, checker_error] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, program(), asio::deferred),
          asio::co_spawn(executor, checker(), asio::deferred))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  (void)checker_error;
  if (program_error) std::rethrow_exception(program_error);
  if (ended) log.note("preflight program stopped: " + ended->describe());
  if (stop.requested()) throw Stopped();
  if (poll_error) std::rethrow_exception(poll_error);
}

asio::awaitable<void> run_health_check(const common::HealthCheck& check, const std::string& sha,
                                       RunLog& log, common::StopSignal& stop) {
  auto parsed = common::parse_url(check.url);
  if (!parsed.ok()) throw DeployFailure("health check", "url: " + parsed.error().message);
  // parse_url keeps the URL's path as a prefix; the request target is that path itself.
  common::Url url = *parsed;
  std::string target = url.path.empty() ? "/" : url.path;
  url.path.clear();
  std::string expected;
  if (check.expect_body) {
    DeployVars vars;
    vars.sha = sha;
    expected = expand_argument(*check.expect_body, vars);
  }
  log.note("health check: polling " + check.url + " for status " +
           std::to_string(check.expect_status) +
           (check.expect_body ? " and a body containing \"" + expected + "\"" : std::string()));
  const Judge good = [&](unsigned status, const std::string& body) {
    return health_answer_ok(check, expected, status, body);
  };
  const std::function<std::optional<std::string>()> never = [] {
    return std::optional<std::string>();
  };
  co_await poll("health check", url, target, check.poll, good, never, log, stop);
}

}  // namespace deployer
