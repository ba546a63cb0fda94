-- receiver-push.lua: wrk load of signed GitHub push deliveries (receiver or adnanh/webhook).
--
-- wrk cannot compute HMACs, but the signature covers only the body: one body is signed once
-- outside (run.sh does it with openssl) and every request varies only its X-GitHub-Delivery
-- header, so every request is a distinct, valid delivery that the server must store durably.
-- Environment: BODY_FILE (the JSON body), SIGNATURE ("sha256=<hex>" of it), RUN_TAG (optional,
-- makes delivery ids unique across runs).
--
--   BODY_FILE=body.json SIGNATURE=sha256=... \
--     wrk -t2 -c64 -d5s --latency -s bench/receiver-push.lua http://127.0.0.1:3400/github-webhook
--
-- At the end it prints one machine-readable line, read by run.sh:
--   RESULT requests=N rps=R p50_ms=.. p99_ms=.. p999_ms=.. ok=<2xx count> non2xx=N errors=N

local body_file = assert(os.getenv("BODY_FILE"), "BODY_FILE is not set")
local signature = assert(os.getenv("SIGNATURE"), "SIGNATURE is not set")
local tag = os.getenv("RUN_TAG") or tostring(os.time())
local file = assert(io.open(body_file, "rb"))
local body = file:read("*a")
file:close()

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local counter = 0
-- Globals: done() reads them from each thread with thread:get.
ok = 0
not_ok = 0

function request()
  counter = counter + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Hook-ID"] = "123456",
    ["X-GitHub-Delivery"] = string.format("bench-%s-%d-%d", tag, thread_id, counter),
    ["X-Hub-Signature-256"] = signature,
  }, body)
end

function response(status, headers, response_body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    not_ok = not_ok + 1
    if not_ok <= 3 then
      io.stderr:write("status " .. status .. ": " .. response_body .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local acknowledged, refused = 0, 0
  for _, thread in ipairs(threads) do
    acknowledged = acknowledged + (thread:get("ok") or 0)
    refused = refused + (thread:get("not_ok") or 0)
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f ok=%d non2xx=%d errors=%d\n",
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, acknowledged, refused,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
