// helpers.cpp: see helpers.hpp.
#include "tests/dashboard/helpers.hpp"

#include <stdexcept>

#include "common/ledger/migrations.hpp"
#include "dashboard/message.hpp"

namespace dashboard_test {

using namespace std::chrono_literals;

std::string hash_password(const std::string& password) {
  // The password goes through the environment to printf, never into the script text.
  const auto result =
      test::run({"/bin/sh", "-c", "printf '%s\\n' \"$PW\" | \"$DEPLOYCTL\" hash-password"},
                {{"PW", password}, {"DEPLOYCTL", test::bin("deployctl").string()}});
  if (result.status != 0) throw std::runtime_error("hash-password failed: " + result.output);
  std::string out = result.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Site::Site(const nlohmann::json& steps, const nlohmann::json& extra,
           const nlohmann::json& deployment_extra)
    : port(test::free_port()), receiver_port(test::free_port()) {
  first_sha = origin.commit({{"README.md", "site\n"}}, "first");
  origin.clone_to(dir / "app");
  test::write_file(dir / "operator.hash", hash_password(kOperatorPassword) + "\n");
  test::write_file(dir / "viewer.hash", hash_password(kViewerPassword) + "\n");
  nlohmann::json json = {
      {"instance", "dashboard-test"},
      {"state_dir", "var"},
      {"allow_root", true},
      {"listen", {{"host", "127.0.0.1"}, {"port", receiver_port}}},
      {"router", {{"settle_ms", 200}}},
      {"dashboard",
       {{"listen", {{"host", "127.0.0.1"}, {"port", port}}},
        {"metrics_token", {{"env", "TEST_METRICS_TOKEN"}}},
        {"users",
         {{{"name", kOperator},
           {"password_hash", {{"file", "operator.hash"}}},
           {"role", "operator"}},
          {{"name", kViewer}, {"password_hash", {{"file", "viewer.hash"}}}, {"role", "viewer"}}}}}},
      {"deployments",
       {{"site",
         {{"repository", "example/site"},
          {"branch", "main"},
          {"path", (dir / "app").string()},
          {"remote", origin.url().string()},
          {"steps", steps.empty() ? nlohmann::json::array({{{"name", "build"}, {"run", {"true"}}}})
                                  : steps}}}}},
  };
  json["deployments"]["site"].update(deployment_extra);
  json.update(extra);
  config = dir / "deployer.json";
  test::write_file(config, json.dump(2));
}

test::Child Site::start(const std::string& program, const std::vector<std::string>& extra,
                        std::map<std::string, std::string> env) const {
  std::vector<std::string> argv{test::bin(program).string(), "--config", config.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  env.emplace("WEBHOOK_SECRET", kSecret);
  env.emplace("TEST_METRICS_TOKEN", kMetricsToken);
  return test::Child(argv, env, dir / (program + ".log"));
}

std::string Site::log(const std::string& program) const {
  std::error_code ec;
  if (!std::filesystem::exists(dir / (program + ".log"), ec)) return "";
  return test::read_file(dir / (program + ".log"));
}

test::Child Site::start_dashboard(const std::map<std::string, std::string>& env) const {
  auto child = start("dashboard", {}, env);
  if (!test::http::wait_for_port(port, 30s)) {
    throw std::runtime_error("the dashboard did not listen: " + log("dashboard"));
  }
  return child;
}

test::RunResult Site::deployctl(const std::vector<std::string>& args,
                                const std::map<std::string, std::string>& env) const {
  std::vector<std::string> argv{test::bin("deployctl").string(), "--config", config.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto merged = env;
  merged.emplace("WEBHOOK_SECRET", kSecret);
  return test::run(argv, merged, 120s);
}

Pipeline::Pipeline(const nlohmann::json& steps, const nlohmann::json& deployment_extra)
    : site(steps, nlohmann::json::object(), deployment_extra) {
  ledger::migrate(db.url());
  env = {{"DATABASE_URL", db.url()}};
  receiver.emplace(site.start("receiver", {}, env));
  router.emplace(site.start("router", {}, env));
  deployer.emplace(site.start("deployer", {"--deployment", "site"}, env));
  dashboard.emplace(site.start_dashboard(env));
  if (!test::http::wait_for_port(site.receiver_port, 30s)) {
    throw std::runtime_error("the receiver did not listen: " + site.log("receiver"));
  }
}

std::string Pipeline::logs() const {
  return site.log("receiver") + site.log("router") + site.log("deployer") + site.log("dashboard");
}

test::RunResult Pipeline::send_test_push() const {
  return site.deployctl({"send-test-push", "site", "--timeout", "120"}, env);
}

test::http::Response get(unsigned short port, const std::string& path, const std::string& cookie,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string raw = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!cookie.empty()) raw += "Cookie: " + cookie + "\r\n";
  for (const auto& [name, value] : headers) raw += name + ": " + value + "\r\n";
  raw += "\r\n";
  return test::http::roundtrip(port, raw, 30s);
}

test::http::Response post(unsigned short port, const std::string& path,
                          const std::map<std::string, std::string>& form,
                          const std::string& cookie) {
  std::string body;
  for (const auto& [name, value] : form) {
    // Appended piece by piece: GCC 12's -Wrestrict misfires on `"&" + std::string`.
    if (!body.empty()) body += '&';
    body += dashboard::url_encode(name);
    body += '=';
    body += dashboard::url_encode(value);
  }
  std::string raw = "POST " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
  if (!cookie.empty()) raw += "Cookie: " + cookie + "\r\n";
  raw += "\r\n" + body;
  return test::http::roundtrip(port, raw, 30s);
}

std::string login(unsigned short port, const std::string& name, const std::string& password) {
  const auto response = post(port, "/login", {{"name", name}, {"password", password}});
  const auto cookie = response.header("set-cookie");
  if (response.status != 303 || !cookie) {
    throw std::runtime_error("login of " + name + " answered " + std::to_string(response.status) +
                             ": " + response.body);
  }
  return cookie->substr(0, cookie->find(';'));
}

std::string csrf_of(const std::string& html) {
  const std::string marker = "name=\"csrf\" value=\"";
  const auto start = html.find(marker);
  if (start == std::string::npos) return "";
  const auto begin = start + marker.size();
  return html.substr(begin, html.find('"', begin) - begin);
}

}  // namespace dashboard_test
