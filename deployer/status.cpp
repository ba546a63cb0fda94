// status.cpp: the ordered, retrying status queue of status.hpp (HTTP itself: http_client.cpp).
#include "deployer/status.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/backoff.hpp"
#include "common/github_deployment.hpp"
#include "common/log.hpp"

namespace deployer {

namespace asio = boost::asio;

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxDescription = 140;
using common::cut_utf8;
}  // namespace

std::string_view to_string(StatusState state) {
  switch (state) {
    case StatusState::pending:
      return "pending";
    case StatusState::success:
      return "success";
    case StatusState::failure:
      return "failure";
    case StatusState::error:
      return "error";
  }
  return "error";
}

std::string status_body(StatusState state, std::string_view description, std::string_view context,
                        std::string_view target_url) {
  nlohmann::json body = {
      {"state", std::string(to_string(state))},
      {"context", std::string(context)},
      {"description", cut_utf8(description, kMaxDescription)},
  };
  if (!target_url.empty()) body["target_url"] = std::string(target_url);
  // replace: a description built from step output may hold invalid UTF-8.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

StatusReporter::StatusReporter(asio::any_io_executor executor, StatusSettings settings,
                               common::StopSignal& stop)
    : settings_(std::move(settings)), stop_(stop), wake_(executor) {
  wake_.expires_at(std::chrono::steady_clock::time_point::max());
}

void StatusReporter::post(std::string sha, StatusState state, std::string description,
                          std::string entry) {
  queue_.push_back(Item{std::move(sha), state, std::move(description), std::move(entry)});
  wake_.cancel();  // wakes run() if it is idle
}

asio::awaitable<void> StatusReporter::run() {
  auto registration = stop_.on_stop([this] { wake_.cancel(); });
  while (!stop_.requested()) {
    if (queue_.empty()) {
      wake_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await wake_.async_wait(use_nothrow);
      continue;
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    bool sent = co_await send(item);
    busy_ = false;
    // Interrupted by the shutdown: count it with the ones not sent.
    if (!sent && stop_.requested()) queue_.push_front(std::move(item));
  }
  if (!queue_.empty()) {
    common::log::warn("shutting down with commit statuses not sent",
                      {{"count", queue_.size()}, {"repository", settings_.repository}});
  }
}

asio::awaitable<bool> StatusReporter::send(const Item& item) {
  common::HttpRequest request;
  request.method = "POST";
  request.url = settings_.api;
  request.target = "/repos/" + settings_.repository + "/statuses/" + item.sha;
  request.headers = {
      {"Authorization", "Bearer " + settings_.token},
      {"Accept", "application/vnd.github+json"},
      {"Content-Type", "application/json"},
      {"X-GitHub-Api-Version", "2022-11-28"},
  };
  request.body = status_body(item.state, item.description, settings_.context);
  request.timeout = settings_.attempt_timeout;
  request.max_body = 4096;  // only ever quoted in an error
  // Doubling from first_backoff; the cap only matters with many attempts.
  common::Backoff backoff(settings_.first_backoff, std::chrono::minutes(1));
  asio::steady_timer pause(co_await asio::this_coro::executor);
  auto registration = stop_.on_stop([&pause] { pause.cancel(); });
  for (int attempt = 1; attempt <= settings_.attempts && !stop_.requested(); ++attempt) {
    auto result = co_await common::http_request(request, stop_);
    if (stop_.requested()) break;  // cancelled by the shutdown; run() reports what is left
    std::string problem;
    bool retry = true;
    if (result.ok()) {
      unsigned status = result.value().status;
      if (status >= 200 && status < 300) {
        common::log::info("commit status posted", {{"entry", item.entry},
                                                   {"sha", item.sha},
                                                   {"state", std::string(to_string(item.state))},
                                                   {"context", settings_.context}});
        co_return true;
      }
      problem = "HTTP " + std::to_string(status);
      // 4xx other than 408/429 will not get better by asking again (bad token, no such repo).
      retry = status >= 500 || status == 408 || status == 429;
    } else {
      problem = result.error().message;
    }
    bool last = !retry || attempt == settings_.attempts;
    common::log::write(
        last ? common::log::Level::error : common::log::Level::warn,
        last ? "commit status not posted, giving up" : "commit status not posted, retrying",
        {{"entry", item.entry},
         {"sha", item.sha},
         {"state", std::string(to_string(item.state))},
         {"attempt", attempt},
         {"error", problem}});
    if (last) co_return true;  // given up: logged, dropped
    pause.expires_after(backoff.next());
    co_await pause.async_wait(use_nothrow);
  }
  co_return false;  // stopped before it could be sent
}

}  // namespace deployer
