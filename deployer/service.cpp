// service.cpp: see service.hpp.
#include "deployer/service.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>

#include <boost/asio/signal_set.hpp>
#include <map>
#include <memory>
#include <stdexcept>

#include "common/github_deployment.hpp"
#include "common/hosts.hpp"
#include "common/secrets.hpp"
#include "deployer/context.hpp"
#include "deployer/deploy.hpp"
#include "deployer/environment.hpp"
#include "deployer/intake.hpp"
#include "deployer/lock.hpp"
#include "deployer/moves.hpp"
#include "deployer/outbox.hpp"
#include "deployer/run_as.hpp"
#include "queue-layout/move.hpp"
#include "queue-layout/quarantine.hpp"
#include "queue-layout/recover.hpp"
#include "queue-layout/scan.hpp"
#include "queue-layout/watch.hpp"

namespace deployer {

namespace asio = boost::asio;

namespace {

// Step 6 of the startup (service.hpp): entries a previous run left in active/.
asio::awaitable<void> recover_active(Context& context) {
  queue_layout::Listing listing;
  if (auto ec = queue_layout::list_entries(context.active, listing)) {
    throw std::runtime_error("cannot list " + context.active.string() + ": " + ec.message());
  }
  for (const auto& stray : listing.strays) {
    // Nothing but the deployer writes active/, so there is no file to wait for here.
    if (auto ec = queue_layout::quarantine(context.active, context.failed, stray,
                                           "\"" + stray + "\" is not a queue entry name")) {
      common::log::error(
          "cannot quarantine stray file",
          {{"deployment", context.deployment.name}, {"file", stray}, {"error", ec.message()}});
    }
  }
  std::map<std::string, ledger::QueueItem> items;
  if (!listing.entries.empty()) {
    items = co_await with_ledger(context, "queue_items", [&] {
      return context.ledger.queue_items(context.ledger_name, listing.entries);
    });
  }
  for (const auto& name : listing.entries) {
    if (context.stop.requested()) throw Stopped();
    // A move from the queue that a crash interrupted after the link: finish it, so the entry is
    // not taken from the queue a second time. (A different file of that name there is left.)
    if (queue_layout::exists(context.queue, name)) {
      (void)queue_layout::move_entry(context.queue, context.active, name);
    }
    // A move to done/ or failed/ that a crash interrupted after the link: the outcome is already
    // recorded, so finish the move instead of deploying again. move_entry refuses (file_exists)
    // when the file there is a different one; then this entry is deployed normally.
    bool finished = false;
    for (const auto* target : {&context.done, &context.failed}) {
      if (!finished && queue_layout::exists(*target, name) &&
          !queue_layout::move_entry(context.active, *target, name)) {
        common::log::info(
            "finished moving an entry left in active/",
            {{"deployment", context.deployment.name}, {"entry", name}, {"to", target->string()}});
        finished = true;
      }
    }
    if (finished) continue;
    // Recorded superseded, stale or skipped before a crash stopped its move to done/
    // (coalesce.hpp, and deploy.cpp's skip): the decision stands, the entry is not deployed.
    if (auto it = items.find(name);
        it != items.end() && (it->second.state == ledger::QueueState::superseded ||
                              it->second.state == ledger::QueueState::stale ||
                              it->second.state == ledger::QueueState::skipped)) {
      common::log::info("finishing the move of an entry left in active/ after its decision",
                        {{"deployment", context.deployment.name},
                         {"entry", name},
                         {"decision", ledger::to_string(it->second.state)}});
      co_await move_durably(context, context.active, context.done, name);
      continue;
    }
    common::log::info("running again an entry left in active/ by a previous run",
                      {{"deployment", context.deployment.name}, {"entry", name}});
    co_await deploy_or_set_aside(context, name);
  }
}

// `wind_down`: a new configuration is waiting (SIGHUP): the loop ends between two entries, never
// inside a deploy, and run() returns so that the caller starts again with it.
asio::awaitable<void> main_loop(Context& context, common::StopSignal& wind_down) {
  try {
    co_await with_ledger(context, "require_schema", [&] { context.ledger.require_schema(); });
    // The watch first, the scans second (queue-layout watch.hpp): an entry arriving between the
    // two is seen by the scan or wakes the wait, never neither.
    queue_layout::Watcher watcher(co_await asio::this_coro::executor, context.queue,
                                  context.config.router.rescan());
    auto registration = context.stop.on_stop([&watcher] { watcher.cancel(); });
    auto wind_down_registration = wind_down.on_stop([&watcher] { watcher.cancel(); });
    common::log::info("deployer started", {{"deployment", context.deployment.name},
                                           {"pid", static_cast<long>(::getpid())},
                                           {"queue", context.queue.string()}});
    if (!context.deployment.enabled) {
      common::log::warn(
          "deployment is disabled: the router queues nothing for it, but entries "
          "dropped into its queue are still deployed",
          {{"deployment", context.deployment.name}});
    }
    co_await recover_active(context);
    prune(context);
    while (!context.stop.requested() && !wind_down.requested()) {
      IntakeResult intake = co_await next_entry(context);
      if (intake.next) {
        co_await move_durably(context, context.queue, context.active, *intake.next);
        co_await deploy_or_set_aside(context, *intake.next);
        continue;
      }
      auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(context.config.router.rescan());
      if (intake.recheck && *intake.recheck < wait) wait = *intake.recheck;
      co_await watcher.wait(wait);
    }
  } catch (const Stopped&) {
    // Shutdown requested while something was waiting: fall through to the exit line.
  } catch (const boost::system::system_error& e) {
    // The watcher's wait throws operation_aborted once cancelled by a shutdown or a reload.
    if (e.code() != asio::error::operation_aborted ||
        !(context.stop.requested() || wind_down.requested()))
      throw;
  }
  common::log::info(wind_down.requested() && !context.stop.requested()
                        ? "deployer restarting its loop with the reloaded configuration"
                        : "deployer stopped",
                    {{"deployment", context.deployment.name}});
}

std::unique_ptr<StatusReporter> make_statuses(const common::Config& config,
                                              const common::Deployment& deployment,
                                              asio::any_io_executor executor,
                                              common::StopSignal& stop) {
  if (!config.github.commit_statuses) return nullptr;
  std::optional<std::string> token = common::github_token(config);
  if (!token) {
    common::log::info("no GitHub token configured: commit statuses are not posted",
                      {{"deployment", deployment.name}});
    return nullptr;
  }
  auto url = common::parse_url(config.github.api_url);
  if (!url.ok()) {
    throw std::runtime_error(config.file.string() + ": github.api_url: " + url.error().message);
  }
  StatusSettings settings;
  settings.api = url.value();
  settings.token = *token;
  settings.repository = deployment.repository;
  settings.context = "deploy/" + deployment.name;
  return std::make_unique<StatusReporter>(executor, std::move(settings), stop);
}

}  // namespace

int run(const common::Config& config, const std::string& name, common::ConfigReload* reload) {
  const common::Deployment& deployment = config.deployment(name);
  // Before anything is created: a run_as that would give steps the pipeline's powers is refused.
  check_run_as(config, deployment, ::geteuid());
  queue_layout::Layout layout(config.state_dir);
  if (auto ec = queue_layout::ensure_layout(layout, {name})) {
    throw std::runtime_error("cannot create the state directory " + config.state_dir.string() +
                             ": " + ec.message());
  }
  // The lock before touching any of the deployment's folders: a second deployer must not
  // recover (re-run) the entry the first one is running.
  DeploymentLock lock(layout.locks(), name);
  for (const auto& dir : layout.entry_folders(name)) queue_layout::remove_stale_temporaries(dir);
  ledger::Ledger ledger(common::database_url(config));

  asio::io_context io;
  common::StopSignal stop;
  // On several hosts only the first of them posts commit statuses (common::reports_for).
  const bool reports = common::reports_for(deployment, config.host);
  auto statuses = reports ? make_statuses(config, deployment, io.get_executor(), stop) : nullptr;
  Context context{config,
                  deployment,
                  ledger,
                  stop,
                  statuses.get(),
                  deployment.run_as.empty() ? without_secrets(process_environment(), config)
                                            : run_as_base_environment(),
                  layout.queue(name),
                  layout.active(name),
                  layout.done(name),
                  layout.failed(name),
                  layout.logs(name),
                  common::ledger_name(deployment, config.host),
                  reports};
  context.github_deployments = reports && common::github_deployments_on(config);
  // The rolling switch's coordination (rollout.hpp), on a connection of its own.
  std::unique_ptr<ledger::Rollouts> rollouts;
  if (common::on_several_hosts(deployment) && deployment.releases) {
    rollouts = std::make_unique<ledger::Rollouts>(common::database_url(config));
    context.rollouts = rollouts.get();
  }

  // PM2 stops apps with SIGINT, systemd and operators with SIGTERM: the same prompt shutdown.
  // SIGHUP reads the configuration again; an accepted one ends the loop after the running deploy.
  asio::signal_set signals(io, SIGTERM, SIGINT);
  if (reload != nullptr) signals.add(SIGHUP);
  common::StopSignal wind_down;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;
        if (signal_number == SIGHUP) {
          if (reload->load(config)) {
            common::log::info("reloading after the running deploy, if any", {{"deployment", name}});
            wind_down.request();
          }
          signals.async_wait(on_signal);  // a SIGTERM may still come while the deploy ends
          return;
        }
        if (reload != nullptr) reload->discard();
        common::log::info("signal received: stopping",
                          {{"deployment", name}, {"signal", signal_number}});
        stop.request();
      };
  signals.async_wait(on_signal);
  if (statuses) asio::co_spawn(io, statuses->run(), asio::detached);
  // Beside the deploy loop, never in its way (outbox.hpp).
  if (!config.notify.empty() || context.github_deployments) {
    asio::co_spawn(io, drain_outbox(config, name, stop), [name](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& error) {
        common::log::error("outbox stopped: notifications and GitHub statuses are not sent",
                           {{"deployment", name}, {"error", error.what()}});
      }
    });
  }
  std::exception_ptr failure;
  asio::co_spawn(io, main_loop(context, wind_down), [&](std::exception_ptr e) {
    failure = e;
    // Whatever ended the loop, end everything else too so io.run() returns.
    stop.request();
    signals.cancel();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return 0;
}

}  // namespace deployer
