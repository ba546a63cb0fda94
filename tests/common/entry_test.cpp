// Entry files: byte-for-byte payloads, every malformed envelope, push fields, replays, and
// hostile nesting.
#include <catch2/catch.hpp>

#include <string>

#include "common/entry.hpp"
#include "common/validate.hpp"

using nlohmann::json;

namespace {

const std::string sha = "0123456789abcdef0123456789abcdef01234567";

// The payload as GitHub might send it: odd spacing, escapes, key order, unicode.
const std::string payload =
    "{ \"ref\" : \"refs/heads/main\",\"after\":\"" + sha +
    "\",\n  \"zeta\": 1.50, \"alpha\": \"caf\\u00e9 \xe2\x9c\x93\", \"repository\": "
    "{\"full_name\": \"ducompsoc/durhack\"}, \"n\": [1,2 ,3] }";

std::string error_of(std::string_view text) {
  auto entry = common::parse_entry(text);
  return entry.ok() ? "" : entry.error().message;
}

std::string entry_with(const std::string& fields) {
  return "{" + fields + (fields.empty() ? "" : ",") + "\"payload\":{}}";
}

}  // namespace

TEST_CASE("entry: write_entry embeds the payload byte for byte") {
  common::EntryMeta meta;
  meta.id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
  meta.event = "push";
  meta.received_at = "2026-11-23T04:05:06.123456789Z";
  meta.hook_id = "123456";
  const auto text = common::write_entry(meta, payload);
  CHECK(text ==
        "{\"id\":\"72d3162e-cc78-11e3-81ab-4c9367dc0958\",\"event\":\"push\",\"received_at\":"
        "\"2026-11-23T04:05:06.123456789Z\",\"hook_id\":\"123456\",\"payload\":" +
            payload + "}\n");

  auto entry = common::parse_entry(text);
  REQUIRE(entry.ok());
  CHECK(entry->meta.id == meta.id);
  CHECK(entry->meta.event == "push");
  CHECK(entry->meta.received_at == meta.received_at);
  CHECK(entry->meta.hook_id == meta.hook_id);
  CHECK(entry->payload == json::parse(payload));
}

TEST_CASE("entry: absent optional fields are left out and read back as absent") {
  common::EntryMeta meta;
  meta.event = "ping";
  const auto text = common::write_entry(meta, "{}");
  CHECK(text == "{\"event\":\"ping\",\"payload\":{}}\n");
  auto entry = common::parse_entry(text);
  REQUIRE(entry.ok());
  CHECK_FALSE(entry->meta.id);
  CHECK_FALSE(entry->meta.received_at);
  CHECK_FALSE(entry->meta.hook_id);
  // Hand-written replays may say null.
  auto nulls = common::parse_entry(
      R"({"id":null,"event":"push","received_at":null,"hook_id":null,"payload":{},"note":"x"})");
  REQUIRE(nulls.ok());
  CHECK_FALSE(nulls->meta.id);
}

TEST_CASE("entry: write_entry refuses invalid metadata") {
  common::EntryMeta meta;
  meta.event = "Push";
  CHECK_THROWS_AS(common::write_entry(meta, "{}"), std::invalid_argument);
  meta.event = "push";
  meta.id = "../etc";
  CHECK_THROWS_WITH(common::write_entry(meta, "{}"),
                    Catch::Contains("entry field \"id\" must contain only"));
  meta.id.reset();
  meta.hook_id = "12ab";
  CHECK_THROWS_AS(common::write_entry(meta, "{}"), std::invalid_argument);
  meta.hook_id.reset();
  meta.received_at = "yesterday";
  CHECK_THROWS_AS(common::write_entry(meta, "{}"), std::invalid_argument);
}

TEST_CASE("entry: every malformed envelope has its own error") {
  CHECK(error_of("").starts_with("not JSON: line 1, column 1:"));
  CHECK(error_of("{\"event\":\"push\",").starts_with("not JSON: line 1, column"));
  CHECK(error_of("{\"event\":\"push\",\"payload\":{}}garbage").starts_with("not JSON: "));
  CHECK(error_of("{\"event\":\"\xff\",\"payload\":{}}").starts_with("not JSON: "));
  CHECK(error_of("[]") == "not a JSON object");
  CHECK(error_of("\"push\"") == "not a JSON object");
  CHECK(error_of(entry_with("")) == "missing \"event\"");
  CHECK(error_of(entry_with("\"event\":5")) == "invalid \"event\": must be a string");
  CHECK(error_of(entry_with("\"event\":\"Push\"")) ==
        "invalid \"event\": must contain only lowercase letters, digits and '_'");
  CHECK(error_of(entry_with("\"event\":\"\"")) == "invalid \"event\": must not be empty");
  CHECK(error_of(entry_with("\"event\":\"push\",\"id\":\"../x\"")) ==
        "invalid \"id\": must contain only letters, digits, '_' and '-'");
  CHECK(error_of(entry_with("\"event\":\"push\",\"id\":7")) == "invalid \"id\": must be a string");
  CHECK(error_of(entry_with("\"event\":\"push\",\"id\":\"a\\u0000b\""))
            .starts_with("invalid \"id\""));
  CHECK(error_of(entry_with("\"event\":\"push\",\"hook_id\":\"x1\"")) ==
        "invalid \"hook_id\": must contain only digits");
  CHECK(error_of(entry_with("\"event\":\"push\",\"received_at\":\"now\""))
            .starts_with("invalid \"received_at\": must be a UTC time"));
  CHECK(error_of("{\"event\":\"push\"}") == "missing \"payload\"");
  for (const char* bad : {"[]", "\"x\"", "null", "1"}) {
    CHECK(error_of(std::string("{\"event\":\"push\",\"payload\":") + bad + "}") ==
          "invalid \"payload\": must be a JSON object");
  }
}

TEST_CASE("entry: 100000 levels of nesting are refused without a crash") {
  const std::string deep = "{\"event\":\"push\",\"payload\":{\"x\":" + std::string(100000, '[') +
                           std::string(100000, ']') + "}}";
  CHECK(error_of(deep) == "not JSON: nesting deeper than 512 at byte 542");
  const std::string ok = "{\"event\":\"push\",\"payload\":{\"x\":" + std::string(510, '[') +
                         std::string(510, ']') + "}}";
  CHECK(error_of(ok).empty());
}

TEST_CASE("entry: parse_push reads the fields a deployer needs") {
  auto push = common::parse_push(json::parse(payload));
  REQUIRE(push.ok());
  CHECK(push->ref == "refs/heads/main");
  CHECK(push->after == sha);
  CHECK(push->before.empty());
  CHECK(push->repository == "ducompsoc/durhack");
  CHECK_FALSE(push->deleted);
  CHECK_FALSE(push->is_tag());
  CHECK(push->branch() == "main");
  CHECK(push->tag().empty());

  auto tag = common::parse_push(json{{"ref", "refs/tags/v1.2"},
                                     {"after", std::string(40, '0')},
                                     {"before", sha},
                                     {"deleted", true},
                                     {"created", false},
                                     {"forced", true},
                                     {"repository", {{"full_name", "o/r"}}}});
  REQUIRE(tag.ok());
  CHECK(tag->is_tag());
  CHECK(tag->tag() == "v1.2");
  CHECK(tag->branch().empty());
  CHECK(tag->before == sha);
  CHECK(tag->deleted);
  CHECK(tag->forced);
}

TEST_CASE("entry: parse_push names the field at fault") {
  const json good = json::parse(payload);
  auto error_of_push = [](const json& p) {
    auto push = common::parse_push(p);
    return push.ok() ? std::string() : push.error().message;
  };
  auto without = [&](const char* key) {
    auto p = good;
    p.erase(key);
    return p;
  };
  auto with = [&](const char* key, json value) {
    auto p = good;
    p[key] = std::move(value);
    return p;
  };
  CHECK(error_of_push(without("ref")) == "payload.ref: missing");
  CHECK(error_of_push(without("after")) == "payload.after: missing");
  CHECK(error_of_push(without("repository")) == "payload.repository: missing or not an object");
  CHECK(error_of_push(with("ref", "refs/heads/../../etc")).starts_with("payload.ref: "));
  CHECK(error_of_push(with("ref", "main")).starts_with("payload.ref: must start with"));
  CHECK(error_of_push(with("ref", 5)) == "payload.ref: must be a string");
  CHECK(error_of_push(with("after", "HEAD")) ==
        "payload.after: must be 40 or 64 hexadecimal digits");
  CHECK(error_of_push(with("after", "$(reboot)")).starts_with("payload.after: "));
  CHECK(error_of_push(with("before", "x")).starts_with("payload.before: "));
  CHECK(error_of_push(with("deleted", "yes")) == "payload.deleted: must be true or false");
  CHECK(error_of_push(with("repository", {{"full_name", "o/r; rm -rf /"}}))
            .starts_with("payload.repository.full_name: "));
  CHECK(error_of_push(with("repository", {{"name", "r"}})) ==
        "payload.repository.full_name: missing");
  CHECK(error_of_push(json::array()) == "payload: must be a JSON object");
}

TEST_CASE("entry: replay entries parse as pushes") {
  const auto text =
      common::write_replay_entry("ducompsoc/durhack", "refs/heads/main", sha, "alice \"ops\"\n");
  CHECK(text.ends_with("}\n"));
  auto entry = common::parse_entry(text);
  REQUIRE(entry.ok());
  CHECK(entry->meta.event == "push");
  CHECK_FALSE(entry->meta.id);
  CHECK_FALSE(entry->meta.hook_id);
  REQUIRE(entry->meta.received_at);
  CHECK(common::valid_timestamp(*entry->meta.received_at));
  CHECK(entry->payload["replay"] == true);
  CHECK(entry->payload["sender"]["login"] == "alice \"ops\"\n");
  auto push = common::parse_push(entry->payload);
  REQUIRE(push.ok());
  CHECK(push->after == sha);
  CHECK(push->repository == "ducompsoc/durhack");
  CHECK(push->branch() == "main");

  CHECK_THROWS_WITH(common::write_replay_entry("ducompsoc/durhack", "refs/heads/main", "HEAD", "a"),
                    Catch::Contains("\"sha\""));
  CHECK_THROWS_WITH(common::write_replay_entry("durhack", "refs/heads/main", sha, "a"),
                    Catch::Contains("\"repository\""));
  CHECK_THROWS_WITH(common::write_replay_entry("o/r", "main", sha, "a"),
                    Catch::Contains("\"ref\""));
}
