#!/usr/bin/env bash
# Installs everything the project needs on Debian 12: the build toolchain and libraries (apt),
# PostgreSQL 15 for the ledger, and PM2 from pm2/package-lock.json (npm).
# Idempotent and non-interactive; works as root or through sudo. Installs only what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config git ca-certificates
  libboost1.81-dev libpqxx-dev libpq-dev nlohmann-json3-dev libssl-dev libcli11-dev catch2
  postgresql-15 openssl
  curl                       # the README's look at the demo app (curl -s http://127.0.0.1:3500/up)
  clang libclang-rt-14-dev   # the libFuzzer smoke tests (tests/reliability)
  clang-format               # scripts/format.sh --check (.ci/run)
  nginx certbot pebble sudo  # deploy-privileged and its tests (a real nginx, certbot against pebble)
  libsodium-dev prometheus-cpp-dev chromium   # the dashboard: password hashes, /metrics, browser tests
)
# Optional extras for the benchmarks (scripts/setup.sh --bench).
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk webhook hyperfine)
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# PM2, pinned by pm2/package-lock.json; reinstalled only when the lock file changed.
if [[ ! -x "$here/pm2/node_modules/.bin/pm2" || "$here/pm2/package-lock.json" -nt "$here/pm2/node_modules/.package-lock.json" ]]; then
  echo "setup: installing PM2 into pm2/node_modules" >&2
  (cd "$here/pm2" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
