#!/bin/sh
# receiver-push.sh: a quick loopback measurement of the receiver with wrk.
#
#   bench/receiver-push.sh [BUILD_DIR] [CONNECTIONS] [SECONDS]
#   PUBLISH_THREADS=16 bench/receiver-push.sh ...   (receiver.publish_threads; default 8)
#
# Starts BUILD_DIR/bin/receiver (default build/) on a free port with a fresh state folder (fresh,
# never reused: ext4 creates files slowly right after mass deletions), signs one realistic push
# body with openssl, runs wrk with receiver-push.lua, prints wrk's report and one summary line,
# stops the receiver with SIGTERM and counts the entries written.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
connections=${2:-64}
seconds=${3:-10}
threads=2
publish_threads=${PUBLISH_THREADS:-8}
[ "$connections" -lt "$threads" ] && threads=$connections

work=$(mktemp -d /tmp/receiver-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret=bench-secret

cat > "$work/config.json" <<JSON
{ "instance": "bench", "state_dir": "var", "allow_root": true,
  "listen": { "host": "127.0.0.1", "port": $port },
  "receiver": { "max_connections": 1024, "publish_threads": $publish_threads },
  "deployments": { "site": { "repository": "ducompsoc/durhack", "branch": "main",
                             "path": "$work/site", "steps": [] } } }
JSON

# About 7 KB, the size of a typical push payload.
python3 - "$work/body.json" <<'PY'
import json, sys
commit = {"id": "0123456789abcdef0123456789abcdef01234567", "message": "Fix the thing " * 8,
          "author": {"name": "A Person", "email": "a@example.com"},
          "added": [], "removed": [], "modified": ["server/src/app.ts", "pnpm-lock.yaml"]}
body = {"ref": "refs/heads/main", "before": "f" * 40, "after": "0123456789abcdef0123456789abcdef01234567",
        "repository": {"full_name": "ducompsoc/durhack", "name": "durhack", "private": False,
                       "description": "x" * 200},
        "pusher": {"name": "someone"}, "commits": [commit] * 10, "head_commit": commit}
open(sys.argv[1], "w").write(json.dumps(body))
PY
signature="sha256=$(openssl dgst -sha256 -hmac "$secret" "$work/body.json" | sed 's/.* //')"

WEBHOOK_SECRET=$secret "$build/bin/receiver" --config "$work/config.json" 2> "$work/receiver.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.05
done

BODY_FILE="$work/body.json" SIGNATURE="$signature" \
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$here/receiver-push.lua" \
  "http://127.0.0.1:$port/github-webhook"

kill -TERM $pid
wait $pid || true
trap - EXIT
echo "entries written: $(ls "$work/var/inbox" | wc -l) (state in $work)"
