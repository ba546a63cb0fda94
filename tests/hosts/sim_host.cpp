// sim_host.cpp: see sim_host.hpp.
#include "tests/hosts/sim_host.hpp"

#include <csignal>
#include <cstdio>
#include <pqxx/pqxx>
#include <stdexcept>

#include "common/ledger/migrations.hpp"
#include "queue-layout/scan.hpp"
#include "tests/support/http.hpp"

namespace hosts_test {

Fleet::Fleet(std::vector<std::string> hosts, std::uint32_t rescan_s, std::string url,
             const nlohmann::json& site, const nlohmann::json& top)
    : root_("hosts"), url_(std::move(url)) {
  if (url_.empty()) {
    database_ = std::make_unique<test::Database>();
    url_ = database_->url();
  }
  ledger::migrate(url_);
  nlohmann::json config = {
      {"instance", "hosts-test"},
      {"state_dir", (root_.path() / "var" / "${DEPLOY_HOST}").string()},
      {"allow_root", true},
      {"listen", {{"host", "127.0.0.1"}, {"port", 0}}},
      {"router", {{"settle_ms", 200}, {"rescan_s", rescan_s}}},
      {"deployments",
       {{"site",
         {{"repository", "example/app"},
          {"branch", "main"},
          {"path", (root_.path() / "srv" / "${DEPLOY_HOST}" / "site").string()},
          {"hosts", hosts},
          {"steps", nlohmann::json::array()}}}}},
  };
  for (const auto& [key, value] : site.items()) config["deployments"]["site"][key] = value;
  for (const auto& [key, value] : top.items()) config[key] = value;
  config_ = root_.path() / "deployer.json";
  test::write_file(config_, config.dump(2));
}

queue_layout::Layout Fleet::layout(const std::string& host) const {
  return queue_layout::Layout(root_.path() / "var" / host);
}

std::filesystem::path Fleet::site_path(const std::string& host) const {
  return root_.path() / "srv" / host / "site";
}

long long Fleet::count(const std::string& sql) const {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<long long>();
}

Host::Host(const Fleet& fleet, std::string name) : fleet_(fleet), name_(std::move(name)) {}

std::vector<std::string> Host::queued() const {
  return entries(layout().queue("site"));
}

std::map<std::string, std::string> Host::env() const {
  // No GitHub token: nothing is queued for GitHub. DEPLOY_HOST says another host on purpose:
  // --host must win over it.
  std::map<std::string, std::string> env = {
      {"DATABASE_URL", database_url_.empty() ? fleet_.url() : database_url_},
      {"WEBHOOK_SECRET", kSecret},
      {"GITHUB_TOKEN", ""},
      {"DEPLOY_HOST", "not-this-one"}};
  for (const auto& [name, value] : env_) env[name] = value;
  return env;
}

std::vector<std::string> Host::argv(const std::string& program) const {
  return {test::bin(program).string(), "--config", fleet_.config().string(), "--host", name_};
}

void Host::start_receiver() {
  const auto log_file = fleet_.root() / (name_ + "-receiver.log");
  receiver_.reset();
  receiver_.emplace(argv("receiver"), env(), log_file);
  // listen.port is 0 in the shared file: each host's receiver says which port it got
  // ("... listening host=127.0.0.1 port=NNNNN ...").
  const bool up = test::eventually(
      [&] {
        std::error_code ec;
        if (!std::filesystem::exists(log_file, ec)) return false;
        const auto text = test::read_file(log_file);
        const auto line = text.find("listening");
        if (line == std::string::npos) return false;
        const auto at = text.find(" port=", line);
        if (at == std::string::npos) return false;
        port_ = static_cast<unsigned short>(std::stoi(text.substr(at + 6)));
        return true;
      },
      20s);
  if (!up || !test::http::wait_for_port(port_, 10s)) {
    throw std::runtime_error("receiver of " + name_ + " did not start; log:\n" + log());
  }
}

void Host::start_router() {
  router_.reset();
  router_.emplace(argv("router"), env(), fleet_.root() / (name_ + "-router.log"));
}

int Host::stop_router() {
  router_->signal(SIGTERM);
  const auto status = router_->wait(20s);
  return status ? *status : -1;
}

void Host::kill9_router() {
  router_->kill();
}

void Host::start_deployer() {
  deployer_.reset();
  auto args = argv("deployer");
  args.insert(args.end(), {"--deployment", "site"});
  deployer_.emplace(args, env(), fleet_.root() / (name_ + "-deployer.log"));
}

int Host::stop_deployer() {
  deployer_->signal(SIGTERM);
  const auto status = deployer_->wait(30s);
  return status ? *status : -1;
}

void Host::kill9_deployer() {
  deployer_->kill();
}

void Host::kill9_all() {
  for (auto* child : {&receiver_, &router_, &deployer_}) {
    if (*child) (*child)->kill();
  }
}

std::string Host::log() const {
  std::string out;
  for (const char* program : {"receiver", "router", "deployer"}) {
    const auto file = fleet_.root() / (name_ + "-" + program + ".log");
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) out += test::read_file(file);
  }
  return out;
}

int Host::count_log(const std::string& needle) const {
  const auto text = log();
  int count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

std::string push_body(const std::string& sha) {
  const nlohmann::json json = {
      {"ref", "refs/heads/main"},
      {"before", std::string(40, '0')},
      {"after", sha},
      {"created", false},
      {"deleted", false},
      {"forced", false},
      {"repository",
       {{"name", "app"}, {"full_name", "example/app"}, {"owner", {{"login", "example"}}}}},
      {"pusher", {{"name", "hosts"}, {"email", "hosts@example.com"}}},
      {"head_commit", {{"id", sha}, {"message", "a push"}}},
      {"commits", nlohmann::json::array({{{"id", sha}, {"message", "a push"}}})},
  };
  return json.dump();
}

int send_push(unsigned short port, const std::string& delivery, const std::string& body) {
  test::http::Webhook hook;
  hook.secret = kSecret;
  hook.body = body;
  hook.delivery = delivery;
  hook.keep_alive = false;
  return test::http::roundtrip(port, test::http::webhook_request(hook)).status;
}

std::string sha(unsigned n) {
  char buffer[41];
  std::snprintf(buffer, sizeof buffer, "%040x", n);
  return buffer;
}

std::vector<std::string> entries(const std::filesystem::path& dir) {
  queue_layout::Listing listing;
  if (queue_layout::list_entries(dir, listing)) return {};
  return listing.entries;
}

}  // namespace hosts_test
