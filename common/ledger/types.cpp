// types.cpp: enum <-> text conversions (the text is what the database's CHECK constraints allow).
#include "common/ledger/types.hpp"

#include <array>
#include <utility>

#include "common/ledger/errors.hpp"
#include "common/ledger/rollouts.hpp"

namespace ledger {
namespace {

template <typename Enum, std::size_t N>
using Names = std::array<std::pair<Enum, std::string_view>, N>;

constexpr Names<Decision, 5> decision_names{{{Decision::routed, "routed"},
                                             {Decision::duplicate, "duplicate"},
                                             {Decision::ignored, "ignored"},
                                             {Decision::rejected, "rejected"},
                                             {Decision::ping, "ping"}}};

constexpr Names<QueueState, 9> queue_state_names{{{QueueState::queued, "queued"},
                                                  {QueueState::running, "running"},
                                                  {QueueState::succeeded, "succeeded"},
                                                  {QueueState::failed, "failed"},
                                                  {QueueState::superseded, "superseded"},
                                                  {QueueState::stale, "stale"},
                                                  {QueueState::skipped, "skipped"},
                                                  {QueueState::waiting, "waiting"},
                                                  {QueueState::retrying, "retrying"}}};

constexpr Names<Trigger, 2> trigger_names{
    {{Trigger::webhook, "webhook"}, {Trigger::operator_, "operator"}}};

constexpr Names<StepOutcome, 4> step_outcome_names{{{StepOutcome::succeeded, "succeeded"},
                                                    {StepOutcome::failed, "failed"},
                                                    {StepOutcome::skipped, "skipped"},
                                                    {StepOutcome::timeout, "timeout"}}};

constexpr Names<RunOutcome, 6> run_outcome_names{{{RunOutcome::succeeded, "succeeded"},
                                                  {RunOutcome::failed, "failed"},
                                                  {RunOutcome::superseded, "superseded"},
                                                  {RunOutcome::stale, "stale"},
                                                  {RunOutcome::interrupted, "interrupted"},
                                                  {RunOutcome::skipped, "skipped"}}};

constexpr Names<RolloutState, 5> rollout_state_names{{{RolloutState::building, "building"},
                                                      {RolloutState::switching, "switching"},
                                                      {RolloutState::succeeded, "succeeded"},
                                                      {RolloutState::failed, "failed"},
                                                      {RolloutState::superseded, "superseded"}}};

constexpr Names<RolloutHostState, 9> rollout_host_state_names{
    {{RolloutHostState::building, "building"},
     {RolloutHostState::built, "built"},
     {RolloutHostState::switching, "switching"},
     {RolloutHostState::live, "live"},
     {RolloutHostState::failed, "failed"},
     {RolloutHostState::not_switched, "not_switched"},
     {RolloutHostState::rolled_back, "rolled_back"},
     {RolloutHostState::skipped, "skipped"},
     {RolloutHostState::superseded, "superseded"}}};

template <typename Enum, std::size_t N>
std::string_view name_of(const Names<Enum, N>& names, Enum value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "?";
}

template <typename Enum, std::size_t N>
Enum parse(const Names<Enum, N>& names, std::string_view text, const char* what) {
  for (const auto& [v, name] : names) {
    if (name == text) return v;
  }
  throw Error("ledger: unknown " + std::string(what) + " '" + std::string(text) + "'");
}

}  // namespace

std::string_view to_string(Decision value) {
  return name_of(decision_names, value);
}
std::string_view to_string(QueueState value) {
  return name_of(queue_state_names, value);
}
std::string_view to_string(Trigger value) {
  return name_of(trigger_names, value);
}
std::string_view to_string(StepOutcome value) {
  return name_of(step_outcome_names, value);
}
std::string_view to_string(RunOutcome value) {
  return name_of(run_outcome_names, value);
}

Decision parse_decision(std::string_view text) {
  return parse(decision_names, text, "delivery decision");
}
QueueState parse_queue_state(std::string_view text) {
  return parse(queue_state_names, text, "queue state");
}
Trigger parse_trigger(std::string_view text) {
  return parse(trigger_names, text, "trigger");
}
StepOutcome parse_step_outcome(std::string_view text) {
  return parse(step_outcome_names, text, "step outcome");
}
RunOutcome parse_run_outcome(std::string_view text) {
  return parse(run_outcome_names, text, "run outcome");
}
std::string_view to_string(RolloutState value) {
  return name_of(rollout_state_names, value);
}
std::string_view to_string(RolloutHostState value) {
  return name_of(rollout_host_state_names, value);
}
RolloutState parse_rollout_state(std::string_view text) {
  return parse(rollout_state_names, text, "rollout state");
}
RolloutHostState parse_rollout_host_state(std::string_view text) {
  return parse(rollout_host_state_names, text, "rollout host state");
}

bool blocks_redelivery(QueueState state) {
  return state != QueueState::failed;
}

bool is_final(QueueState state) {
  return state != QueueState::queued && state != QueueState::running &&
         state != QueueState::waiting && state != QueueState::retrying;
}

}  // namespace ledger
