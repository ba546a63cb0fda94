// push_check.cpp: see push_check.hpp.
#include "deployer/push_check.hpp"

#include "common/printable.hpp"
#include "common/validate.hpp"

namespace deployer {
namespace {

bool is_null_sha(std::string_view sha) {
  return sha.find_first_not_of('0') == std::string_view::npos;
}

common::Result<CheckedPush> check(std::string_view text, const common::Deployment& deployment) {
  auto entry = common::parse_entry(text);
  if (!entry.ok()) return common::Error{"not a valid entry: " + entry.error().message};
  if (entry->meta.event != "push") {
    return common::Error{"event \"" + entry->meta.event + "\" is not a push"};
  }
  auto push = common::parse_push(entry->payload);
  if (!push.ok()) return common::Error{"not a valid push: " + push.error().message};
  if (!common::same_repository(push->repository, deployment.repository)) {
    return common::Error{"push of repository " + push->repository + ", but deployment " +
                         deployment.name + " deploys " + deployment.repository};
  }
  if (push->deleted || is_null_sha(push->after)) {
    return common::Error{"push deletes " + push->ref + ": there is no commit to deploy"};
  }
  return CheckedPush{std::move(entry.value()), std::move(push.value())};
}

}  // namespace

common::Result<CheckedPush> check_entry_text(std::string_view text,
                                             const common::Deployment& deployment) {
  auto taken = check(text, deployment);
  if (!taken.ok()) return common::Error{common::printable(taken.error().message)};
  return taken;
}

}  // namespace deployer
