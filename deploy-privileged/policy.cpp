// policy.cpp: parsing the policy, the root-only trust check of its file, and who may choose it.
#include "deploy-privileged/policy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/config_reader.hpp"
#include "deploy-privileged/site_rules.hpp"

namespace privileged {
namespace {

using common::config_detail::ConfigContext;
using common::config_detail::ConfigNode;

constexpr std::size_t kMaxPolicyBytes = 1 << 20;

std::filesystem::path absolute_path(const ConfigNode& node) {
  std::filesystem::path p = node.as_nonempty_string();
  if (!p.is_absolute()) node.fail("must be an absolute path");
  return p.lexically_normal();
}

std::vector<std::string> program(const ConfigNode& node) {
  auto argv = node.as_string_array(false);
  if (!std::filesystem::path(argv[0]).is_absolute()) {
    node.element(0).fail("must be the program's absolute path");
  }
  return argv;
}

std::optional<std::filesystem::path> optional_path(const ConfigNode& parent, std::string_view key) {
  if (!parent.has(key) || parent.child(key).json().is_null()) return std::nullopt;
  return absolute_path(parent.child(key));
}

std::vector<std::string> names(const ConfigNode& node, bool (*valid)(std::string_view),
                               std::string_view what) {
  auto out = node.as_string_array(true);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!valid(out[i])) node.element(i).fail("is not a valid " + std::string(what));
  }
  return out;
}

// A folder or file is safe when root owns it and no one else can write it; a sticky folder
// (like /tmp) is safe too, because others cannot rename or remove root's entries in it.
void check_owned_by_root(const std::filesystem::path& path, const struct stat& st, bool folder) {
  const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (st.st_uid != 0 || (others_write && !(folder && (st.st_mode & S_ISVTX)))) {
    throw std::runtime_error(path.string() + ": refusing a policy that someone other than root " +
                             "can change (it, and every folder above it, must be root's and not " +
                             "writable by group or others)");
  }
}

std::optional<std::uint32_t> parse_id(const char* text) {
  if (text == nullptr) return std::nullopt;
  std::uint32_t value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end || ptr == text) {
    throw std::runtime_error(std::string("malformed sudo variable: ") + text);
  }
  return value;
}

}  // namespace

std::filesystem::path Policy::Acme::live_dir() const {
  return config_dir.value_or("/etc/letsencrypt") / "live";
}

Policy parse_policy(const std::string& text, const std::string& display) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(display + ": not valid JSON: " + e.what());
  }
  const ConfigContext context{display, "/"};
  const ConfigNode root(doc, "", context);
  root.require_object();
  root.check_keys({"nginx", "acme", "deployments", "log_file"});

  Policy policy;
  const auto nginx = root.child("nginx");
  nginx.require_object();
  nginx.check_keys({"conf_dir", "test", "reload"});
  policy.nginx.conf_dir = absolute_path(nginx.child("conf_dir"));
  policy.nginx.test = program(nginx.child("test"));
  policy.nginx.reload = program(nginx.child("reload"));

  const auto acme = root.child("acme");
  acme.require_object();
  acme.check_keys(
      {"server", "ca_bundle", "webroot", "email", "certbot", "config_dir", "work_dir", "logs_dir"});
  policy.acme.server = acme.child("server").as_nonempty_string();
  if (!policy.acme.server.starts_with("https://"))
    acme.child("server").fail("must be an https URL");
  policy.acme.ca_bundle = optional_path(acme, "ca_bundle");
  policy.acme.webroot = absolute_path(acme.child("webroot"));
  if (acme.has("email") && !acme.child("email").json().is_null()) {
    const auto email = acme.child("email").as_nonempty_string();
    if (email.find('@') == std::string::npos || email.starts_with("-")) {
      acme.child("email").fail("is not an email address");
    }
    policy.acme.email = email;
  }
  if (acme.has("certbot")) policy.acme.certbot = program(acme.child("certbot"));
  policy.acme.config_dir = optional_path(acme, "config_dir");
  policy.acme.work_dir = optional_path(acme, "work_dir");
  policy.acme.logs_dir = optional_path(acme, "logs_dir");

  const auto deployments = root.child("deployments");
  deployments.require_object();
  for (const auto& [name, value] : deployments.json().items()) {
    if (name.starts_with("_")) continue;
    const auto node = deployments.child(name);
    node.require_object();
    node.check_keys({"sites", "domains"});
    Policy::Deployment d;
    if (node.has("sites")) d.sites = names(node.child("sites"), valid_site_name, "site name");
    if (node.has("domains")) d.domains = names(node.child("domains"), valid_domain, "domain");
    policy.deployments.emplace(name, std::move(d));
  }
  policy.log_file = optional_path(root, "log_file");
  return policy;
}

Policy load_policy(const std::filesystem::path& file) {
  const std::filesystem::path absolute = std::filesystem::absolute(file).lexically_normal();
  // Every folder above the file, from / down: a folder someone else controls could swap the file.
  std::filesystem::path folder = "/";
  for (auto it = absolute.begin(); it != absolute.end(); ++it) {
    if (std::next(it) == absolute.end()) break;
    if (*it != "/") folder /= *it;
    struct stat st {};
    if (::lstat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw std::runtime_error(absolute.string() + ": cannot use: " + folder.string() +
                               " is missing or not a folder");
    }
    check_owned_by_root(folder, st, true);
  }
  const int fd = ::open(absolute.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw std::runtime_error(absolute.string() + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  std::string text;
  try {
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      throw std::runtime_error(absolute.string() + ": is not a regular file");
    }
    check_owned_by_root(absolute, st, false);
    if (static_cast<std::size_t>(st.st_size) > kMaxPolicyBytes) {
      throw std::runtime_error(absolute.string() + ": is larger than 1 MiB");
    }
    char buffer[8192];
    while (true) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw std::runtime_error(absolute.string() + ": cannot read: " + std::strerror(errno));
      if (n == 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
      if (text.size() > kMaxPolicyBytes) {
        throw std::runtime_error(absolute.string() + ": is larger than 1 MiB");
      }
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return parse_policy(text, absolute.string());
}

std::string Caller::describe() const {
  std::string out = uid == 0 ? "root" : "uid " + std::to_string(uid);
  if (sudo_uid) out += " (uid " + std::to_string(*sudo_uid) + " via sudo)";
  return out;
}

Caller current_caller() {
  Caller caller;
  caller.uid = ::getuid();
  caller.sudo_uid = parse_id(std::getenv("SUDO_UID"));
  caller.sudo_gid = parse_id(std::getenv("SUDO_GID"));
  return caller;
}

std::filesystem::path policy_path_for(const std::optional<std::filesystem::path>& requested,
                                      const Caller& caller) {
  if (!requested) return kDefaultPolicyPath;
  if (caller.uid != 0 || caller.sudo_uid) {
    throw Refused("--policy is accepted only from root itself, not through sudo; the policy is " +
                  kDefaultPolicyPath.string());
  }
  return *requested;
}

}  // namespace privileged
