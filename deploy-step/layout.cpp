// layout.cpp: see layout.hpp.
#include "deploy-step/layout.hpp"

#include <iostream>
#include <system_error>

#include "common/disk_error.hpp"
#include "common/release_layout.hpp"
#include "common/validate.hpp"

namespace step {

namespace {

int usage(const std::string& why) {
  std::cerr << "deploy-step layout: " << why << "\n";
  return 2;
}

int result(const std::string& what, std::error_code ec) {
  if (!ec) return 0;
  std::cerr << "deploy-step layout: " << what << ": " << ec.message() << "\n";
  // A full disk is told apart, so the deployer can treat it as passing (automatic retries).
  return common::transient_disk_error(ec) ? common::kTransientDiskExit : 1;
}

// A shared entry as the configuration allows it: relative, no "..", no empty component.
bool valid_entry(const std::string& entry) {
  const std::filesystem::path p(entry);
  if (entry.empty() || p.is_absolute()) return false;
  for (const auto& part : p) {
    if (part.empty() || part == ".." || part == ".") return false;
  }
  return true;
}

}  // namespace

int run_layout(const std::vector<std::string>& args) {
  if (args.size() < 2) return usage("expected ROOT OP [ARGS...]");
  const std::filesystem::path root(args[0]);
  if (!root.is_absolute()) return usage("ROOT must be an absolute path");
  const common::ReleaseLayout layout(root);
  const std::string& op = args[1];
  const std::vector<std::string> rest(args.begin() + 2, args.end());
  if (op == "clean-incomplete" && rest.empty()) {
    std::error_code ec;
    for (const auto& name : layout.clean_incomplete("", ec)) std::cout << name << "\n";
    return result(op, ec);
  }
  if (rest.empty() || !common::valid_release_name(rest[0])) {
    return usage(op + ": expected a release name");
  }
  const std::string& name = rest[0];
  if (op == "create-release" && rest.size() == 1) {
    return result(op + " " + name, layout.create_release(name));
  }
  if (op == "remove" && rest.size() == 1) return result(op + " " + name, layout.remove(name));
  if (op == "mark-complete" && rest.size() == 2) {
    if (!common::valid_sha(rest[1])) return usage(op + ": expected a full commit id");
    return result(op + " " + name, layout.mark_complete(name, rest[1]));
  }
  if (op == "link-shared") {
    const std::vector<std::string> entries(rest.begin() + 1, rest.end());
    for (const auto& e : entries) {
      if (!valid_entry(e)) return usage(op + ": invalid shared entry \"" + e + "\"");
    }
    return result(op + " " + name, layout.link_shared(name, entries));
  }
  return usage("unknown operation or wrong arguments: " + op);
}

}  // namespace step
