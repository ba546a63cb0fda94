// context.cpp: the stop-aware pause used by back-off loops.
#include "deployer/context.hpp"

namespace deployer {

boost::asio::awaitable<void> pause(common::StopSignal& stop, std::chrono::milliseconds duration) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, duration);
  auto registration = stop.on_stop([&timer] { timer.cancel(); });
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

}  // namespace deployer
