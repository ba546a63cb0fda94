// step_request.cpp: the JSON line both sides of the deployer -> deploy-step channel use.
#include "common/step_request.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace common {

std::string format_step_request(const StepRequest& request) {
  const nlohmann::json doc = {{"argv", request.argv},
                              {"cwd", request.cwd.string()},
                              {"env", request.env},
                              {"grace_ms", request.grace.count()},
                              {"stop_grace_ms", request.stop_grace.count()},
                              {"files", request.files}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

StepRequest parse_step_request(const std::string& line) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("the request is not valid JSON: ") + e.what());
  }
  StepRequest r;
  try {
    r.argv = doc.at("argv").get<std::vector<std::string>>();
    r.cwd = doc.at("cwd").get<std::string>();
    r.env = doc.at("env").get<std::vector<std::string>>();
    r.grace = std::chrono::milliseconds(doc.value("grace_ms", 5000));
    r.stop_grace = std::chrono::milliseconds(doc.value("stop_grace_ms", 2000));
    if (doc.contains("files")) r.files = doc.at("files").get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed request: ") + e.what());
  }
  if (r.argv.empty() || r.argv[0].empty()) throw std::runtime_error("the request has no program");
  if (!r.cwd.is_absolute()) throw std::runtime_error("the request's cwd is not absolute");
  for (const auto& e : r.env) {
    if (e.find('=') == std::string::npos || e.front() == '=') {
      throw std::runtime_error("malformed environment entry in the request");
    }
  }
  for (const auto& [name, content] : r.files) {
    // A variable name as a shell takes it: it becomes NAME=<path> in the step's environment.
    const bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                       });
    if (!valid) throw std::runtime_error("malformed file variable name in the request");
  }
  for (auto grace : {r.grace, r.stop_grace}) {
    if (grace.count() < 0 || grace > std::chrono::minutes(10)) {
      throw std::runtime_error("grace_ms out of range");
    }
  }
  return r;
}

}  // namespace common
