// fuzz_handler.cpp: libFuzzer target for receiver::handle_request, the pure request decision.
//
// The input is split on NUL bytes into: method, target, then header name/value pairs, and the
// last field is the body. Half of the runs sign the body with the configured secret, so the
// fuzzer also reaches the content checks behind authentication. Contract checked: no crash, no
// sanitizer report, a status in 200-599, an entry only with no refusal and only for a 2xx decision
// that parse_entry reads back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/entry.hpp"
#include "common/signature.hpp"
#include "receiver/handler.hpp"

namespace {

std::vector<std::string> split(std::string_view input) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (fields.size() < 64) {
    std::size_t end = input.find('\0', start);
    if (end == std::string_view::npos) break;
    fields.emplace_back(input.substr(start, end - start));
    start = end + 1;
  }
  fields.emplace_back(input.substr(start));
  return fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const receiver::Settings settings = [] {
    receiver::Settings s;
    s.instance = "fuzz";
    s.secrets = {"fuzz-secret"};
    s.body_limit_bytes = 1 << 20;
    return s;
  }();
  if (size == 0) return 0;
  bool sign = (data[0] & 1) != 0;
  std::vector<std::string> fields =
      split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  receiver::Request request;
  request.peer = "127.0.0.1";
  request.method = fields.size() > 1 ? fields[0] : "POST";
  request.target = fields.size() > 2 ? fields[1] : "/github-webhook";
  for (std::size_t i = 2; i + 2 < fields.size(); i += 2) {
    std::string name = fields[i];
    for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    request.headers.push_back({name, fields[i + 1]});
  }
  request.body = fields.back();
  if (sign) {
    request.headers.push_back(
        {"x-hub-signature-256", common::github_signature("fuzz-secret", request.body)});
  }

  receiver::Decision decision = receiver::handle_request(request, settings);
  if (decision.response.status < 200 || decision.response.status > 599) std::abort();
  if (decision.entry) {
    auto parsed = common::parse_entry(*decision.entry);
    if (!parsed) std::abort();  // the receiver must only publish entries its readers accept
  }
  return 0;
}
