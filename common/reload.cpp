// reload.cpp: ConfigReload and serve_reloading (reload.hpp).
#include "common/reload.hpp"

#include <csignal>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/log.hpp"

namespace common {

ConfigReload::ConfigReload(Loader load, Check check)
    : load_(std::move(load)), check_(std::move(check)) {}

bool ConfigReload::load(const Config& current) {
  try {
    Config next = load_();
    std::string why = refuse_state_dir_change(current, next);
    if (why.empty() && check_) why = check_(current, next);
    if (!why.empty()) throw std::runtime_error(why);
    log::info("configuration reloaded: taking effect once the current work is done",
              {{"file", next.file.string()}});
    next_ = std::move(next);
    return true;
  } catch (const std::exception& e) {
    log::error("configuration not reloaded: still running on the previous one",
               {{"file", current.file.string()}, {"error", e.what()}});
    return false;
  }
}

Config ConfigReload::take() {
  if (!next_) throw std::logic_error("ConfigReload::take: nothing pending");
  Config next = std::move(*next_);
  next_.reset();
  return next;
}

std::string refuse_state_dir_change(const Config& current, const Config& next) {
  if (current.state_dir == next.state_dir) return "";
  return "state_dir changed from " + current.state_dir.string() + " to " + next.state_dir.string() +
         ": that needs a restart of every program";
}

int serve_reloading(Config config, ConfigReload& reload,
                    const std::function<int(const Config&)>& serve) {
  // A registration for SIGHUP on an io_context that never runs: while it exists asio keeps its
  // handler installed, so a SIGHUP between two serves is dropped instead of ending the process.
  boost::asio::io_context idle;
  boost::asio::signal_set keep_caught(idle, SIGHUP);
  for (;;) {
    const int status = serve(config);
    if (!reload.pending()) return status;
    config = reload.take();
    log::info("configuration in effect", {{"file", config.file.string()}});
  }
}

}  // namespace common
