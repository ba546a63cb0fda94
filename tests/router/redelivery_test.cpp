// Redeliveries: GitHub sends the same delivery again (same hook id and delivery id, a new inbox
// entry). Already deployed, queued or running -> duplicate; failed -> routed again. The
// deployer's side is simulated through the ledger API and queue_layout moves.
#include <catch2/catch.hpp>

#include "queue-layout/move.hpp"
#include "tests/router/harness.hpp"

using namespace router_test;
using Names = std::vector<std::string>;

namespace {

void drain(RouterEnv& env) {
  if (!env.wait_inbox_empty()) FAIL("inbox not drained; router log:\n" << env.log());
}

// What a deployer does with an entry, up to the state given (running, succeeded or failed).
void deploy(RouterEnv& env, const std::string& deployment, const std::string& name,
            const std::string& id, ledger::QueueState until) {
  auto& ledger = env.ledger();
  const auto item = ledger.queue_item(deployment, name);
  REQUIRE(item);
  const auto& layout = env.layout();
  REQUIRE_FALSE(
      queue_layout::move_entry(layout.queue(deployment), layout.active(deployment), name));
  CHECK(ledger.claim(deployment, name, item->sha, item->ref) == ledger::Trigger::webhook);
  const auto run = ledger.start_run(deployment, name, item->sha, item->ref, std::nullopt,
                                    ledger::DeliveryKey{"42", id});
  if (until == ledger::QueueState::running) return;
  const bool ok = until == ledger::QueueState::succeeded;
  ledger.finish_run(run, ok ? ledger::RunOutcome::succeeded : ledger::RunOutcome::failed,
                    ok ? "" : "step build failed");
  REQUIRE_FALSE(queue_layout::move_entry(
      layout.active(deployment), ok ? layout.done(deployment) : layout.failed(deployment), name));
}

std::vector<ledger::Decision> decisions(RouterEnv& env, const std::string& id) {
  std::vector<ledger::Decision> out;
  for (const auto& r : env.receipts(id)) out.push_back(r.decision);
  return out;
}

using D = ledger::Decision;

}  // namespace

TEST_CASE("a redelivery of a deployed delivery is a duplicate but not for another hook") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}});
  env.start();
  const std::string text = push_entry("rd-1", PushSpec().at(sha(11)));
  const auto first = env.publish(text, "rd-1");
  drain(env);
  deploy(env, "durhack", first, "rd-1", ledger::QueueState::succeeded);

  const auto again = env.publish(text, "rd-1");  // GitHub's "Redeliver": same bytes, new entry
  drain(env);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")).empty());
  CHECK(RouterEnv::entries(env.layout().done("durhack")) == Names{first});
  const auto receipts = env.receipts("rd-1");
  REQUIRE(receipts.size() == 2);
  CHECK(receipts[1].entry_name == again);
  CHECK(receipts[1].decision == D::duplicate);
  CHECK(receipts[1].reason == "redelivery, already handled for durhack (succeeded)");
  CHECK_FALSE(env.ledger().queue_item("durhack", again));
  CHECK(env.count_log("duplicate delivery dropped delivery=rd-1 entry=" + again +
                      " deployments=durhack") == 1);

  // The same delivery id sent to another hook is another delivery.
  const auto other_hook = env.publish(push_entry("rd-1", PushSpec().at(sha(11)), "43"), "rd-1");
  drain(env);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{other_hook});
  CHECK(env.stop() == 0);
}

TEST_CASE("a redelivery while the delivery is queued or running is a duplicate") {
  RouterEnv env({{"durhack", "ducompsoc/durhack", "main"}});
  env.start();
  const std::string text = push_entry("rq-1", PushSpec());
  const auto first = env.publish(text, "rq-1");
  drain(env);

  env.publish(text, "rq-1");  // still queued
  drain(env);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{first});
  CHECK(decisions(env, "rq-1") == std::vector<D>{D::routed, D::duplicate});
  CHECK(env.receipts("rq-1")[1].reason == "redelivery, already handled for durhack (queued)");

  deploy(env, "durhack", first, "rq-1", ledger::QueueState::running);
  env.publish(text, "rq-1");  // now running
  drain(env);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")).empty());
  CHECK(RouterEnv::entries(env.layout().active("durhack")) == Names{first});
  CHECK(decisions(env, "rq-1") == std::vector<D>{D::routed, D::duplicate, D::duplicate});
  CHECK(env.receipts("rq-1")[2].reason == "redelivery, already handled for durhack (running)");
  CHECK(env.stop() == 0);
}

TEST_CASE("a redelivery after a failed deploy is routed again, only where it failed") {
  RouterEnv env(
      {{"durhack", "ducompsoc/durhack", "main"}, {"durhack-mirror", "ducompsoc/durhack", "main"}});
  env.start();
  const std::string text = push_entry("rf-1", PushSpec().at(sha(21)));
  const auto first = env.publish(text, "rf-1");
  drain(env);
  deploy(env, "durhack", first, "rf-1", ledger::QueueState::failed);
  deploy(env, "durhack-mirror", first, "rf-1", ledger::QueueState::succeeded);

  const auto again = env.publish(text, "rf-1");
  drain(env);
  CHECK(RouterEnv::entries(env.layout().queue("durhack")) == Names{again});
  CHECK(RouterEnv::entries(env.layout().queue("durhack-mirror")).empty());
  const auto receipts = env.receipts("rf-1");
  REQUIRE(receipts.size() == 2);
  CHECK(receipts[1].decision == D::routed);
  CHECK(receipts[1].reason == "to durhack; not again to durhack-mirror (succeeded)");
  const auto item = env.ledger().queue_item("durhack", again);
  REQUIRE(item);
  CHECK(item->state == ledger::QueueState::queued);
  CHECK(item->sha == sha(21));

  // Once that one is deployed, a third delivery is a duplicate everywhere.
  deploy(env, "durhack", again, "rf-1", ledger::QueueState::succeeded);
  env.publish(text, "rf-1");
  drain(env);
  CHECK(decisions(env, "rf-1") == std::vector<D>{D::routed, D::routed, D::duplicate});
  CHECK(env.stop() == 0);
}
