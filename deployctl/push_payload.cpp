// push_payload.cpp: see push_payload.hpp.
#include "deployctl/push_payload.hpp"

#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>

namespace deployctl {
namespace {

using nlohmann::json;

// FNV-1a: a stable number per name for the ids GitHub would assign (repository, owner, hook).
std::uint64_t stable_number(const std::string& text) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash % 900000000ULL + 100000000ULL;  // nine digits, like GitHub's ids
}

json person(const std::string& name, const std::string& email, const std::string& username) {
  return {{"name", name}, {"email", email}, {"username", username}};
}

json commit_json(const TestPush& push, const std::string& html_url) {
  const std::string email = push.user + "@users.noreply.github.com";
  json commit = {
      {"id", push.sha},
      {"tree_id", push.commit ? json(push.commit->tree) : json(nullptr)},
      {"distinct", true},
      {"message",
       push.commit ? push.commit->message : "Test push sent by deployctl send-test-push"},
      {"timestamp", push.commit ? push.commit->timestamp : push.timestamp},
      {"url", html_url + "/commit/" + push.sha},
      {"author", push.commit
                     ? person(push.commit->author_name, push.commit->author_email, push.user)
                     : person(push.user, email, push.user)},
      {"committer",
       push.commit ? person(push.commit->committer_name, push.commit->committer_email, push.user)
                   : person(push.user, email, push.user)},
      {"added", push.commit ? push.commit->added : std::vector<std::string>{}},
      {"removed", push.commit ? push.commit->removed : std::vector<std::string>{}},
      {"modified", push.commit ? push.commit->modified : std::vector<std::string>{}},
  };
  return commit;
}

}  // namespace

json push_payload(const TestPush& push) {
  const auto slash = push.repository.find('/');
  const std::string owner = push.repository.substr(0, slash);
  const std::string name = push.repository.substr(slash + 1);
  const std::string html_url = "https://github.com/" + push.repository;
  const std::string zeros(push.sha.size(), '0');
  const std::string before =
      push.commit && !push.commit->parent.empty() ? push.commit->parent : zeros;
  const json commit = commit_json(push, html_url);
  return {
      {"ref", "refs/heads/" + push.branch},
      {"before", before},
      {"after", push.sha},
      {"repository",
       {
           {"id", stable_number(push.repository)},
           {"node_id", "R_deployctl" + std::to_string(stable_number(push.repository))},
           {"name", name},
           {"full_name", push.repository},
           {"private", true},
           {"owner",
            {{"name", owner},
             {"email", nullptr},
             {"login", owner},
             {"id", stable_number(owner)},
             {"type", "Organization"},
             {"html_url", "https://github.com/" + owner}}},
           {"html_url", html_url},
           {"url", html_url},
           {"clone_url", html_url + ".git"},
           {"ssh_url", "git@github.com:" + push.repository + ".git"},
           {"default_branch", push.branch},
           {"master_branch", push.branch},
       }},
      {"pusher", {{"name", push.user}, {"email", push.user + "@users.noreply.github.com"}}},
      {"sender", {{"login", push.user}, {"id", stable_number(push.user)}, {"type", "User"}}},
      {"created", before == zeros},
      {"deleted", false},
      {"forced", false},
      {"base_ref", nullptr},
      {"compare", html_url + "/compare/" + before.substr(0, 12) + "..." + push.sha.substr(0, 12)},
      {"commits", json::array({commit})},
      {"head_commit", commit},
  };
}

std::string random_uuid() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for a UUID");
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[bytes[i] >> 4]);
    out.push_back(hex[bytes[i] & 15]);
  }
  return out;
}

std::string hook_id_for(const std::string& repository) {
  return std::to_string(stable_number("hook:" + repository));
}

}  // namespace deployctl
