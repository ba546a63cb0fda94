// helpers.cpp: see helpers.hpp.
#include "tests/deployctl/helpers.hpp"

#include <chrono>
#include <stdexcept>

#include "common/entry.hpp"
#include "common/process.hpp"
#include "queue-layout/name.hpp"
#include "tests/support/child.hpp"

namespace deployctl_test {

Output deployctl(const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{test::bin("deployctl").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  common::Command command;
  command.argv = std::move(argv);
  command.env = common::environment_with(env);
  command.timeout = std::chrono::seconds(60);
  const auto result = common::run_captured(command);
  if (result.outcome.ending != common::Ending::exited) {
    throw std::runtime_error("deployctl " + result.outcome.describe() + "; stderr: " + result.err);
  }
  return Output{result.outcome.exit_code, result.out, result.err};
}

int count_lines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

Site::Site(const nlohmann::json& extra) {
  first_sha = origin.commit({{"README.md", "site\n"}}, "first");
  origin.clone_to(dir / "app");
  nlohmann::json json = {
      {"instance", "deployctl-test"},
      {"state_dir", "var"},
      {"allow_root", true},
      {"deployments",
       {{"site",
         {{"repository", "example/site"},
          {"branch", "main"},
          {"path", (dir / "app").string()},
          {"remote", origin.url().string()},
          {"steps", {{{"name", "build"}, {"run", {"true"}}}}}}}}},
  };
  json.update(extra);
  config = dir / "deployer.json";
  test::write_file(config, json.dump(2));
}

std::vector<std::string> Site::args(const std::vector<std::string>& rest) const {
  std::vector<std::string> out{"--config", config.string()};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

void Site::put(const std::filesystem::path& folder, const std::string& name,
               const std::string& text) const {
  std::filesystem::create_directories(folder);
  test::write_file(folder / name, text);
}

std::string push_entry(const std::string& sha, const std::string& id) {
  common::EntryMeta meta;
  meta.id = id;
  meta.event = "push";
  meta.hook_id = "1";
  const nlohmann::json payload = {
      {"ref", "refs/heads/main"}, {"after", sha}, {"repository", {{"full_name", "example/site"}}}};
  return common::write_entry(meta, payload.dump());
}

bool is_uuid_v4(const std::string& text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return text[14] == '4' && std::string("89ab").find(text[19]) != std::string::npos;
}

std::string entry_from(const std::string& out) {
  const std::string marker = "\nentry ";
  const auto start = out.find(marker);
  if (start == std::string::npos) return "";
  const auto begin = start + marker.size();
  const auto end = out.find(' ', begin);
  const std::string name = out.substr(begin, end == std::string::npos ? end : end - begin);
  return queue_layout::is_entry_name(name) ? name : "";
}

std::string fake_sha(char digit) {
  return std::string(40, digit);
}

}  // namespace deployctl_test
