#!/usr/bin/env bash
# Stops what scripts/run.sh started: the pipeline's PM2 daemon and the demo app's (each with every
# app it runs; PM2 sends SIGINT, then SIGKILL after each app's kill_timeout) and the embedded
# PostgreSQL. Keeps .demo/ (configuration, secret, database, repositories, releases, queues and
# logs), so `deployctl status` and `deployctl logs` still work and scripts/run.sh carries on where
# it stopped (it starts the live release of the demo app again).
# `scripts/stop.sh --purge` also removes .demo/ and the config/deployer.json link to it (not the
# user durhack-demo-app that `scripts/run.sh --production` created: `userdel durhack-demo-app`).
# Safe to run when nothing runs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
demo="$here/.demo"

# Each daemon is told to stop by its own user (the production demo's app runs as
# durhack-demo-app): a root client would leave root-owned files in that user's PM2 home.
for home in "$demo/pm2-home" "$demo/app-pm2" "$demo/app-pm2-production"; do
  if [[ -d "$home" ]]; then
    owner=$(stat -c %U "$home")
    as_owner=()
    [[ "$owner" == "$(id -un)" ]] || as_owner=(runuser -u "$owner" --)
    "${as_owner[@]}" env PM2_HOME="$home" "$here/pm2/node_modules/.bin/pm2" kill >/dev/null 2>&1 || true
  fi
done
# .demo/pg may be a link to where `postgres` could reach it (see run.sh).
pgdir=$(readlink -f "$demo/pg" 2>/dev/null || true)
if [[ -n "$pgdir" && -d "$pgdir" ]]; then
  "$here/scripts/pg.sh" stop "$pgdir" >/dev/null
fi
if [[ "${1:-}" == "--purge" ]]; then
  if [[ -n "$pgdir" && -d "$pgdir" ]]; then "$here/scripts/pg.sh" destroy "$pgdir" >/dev/null; fi
  rm -rf "$demo"
  link="$here/config/deployer.json"
  if [[ -L "$link" && "$(readlink "$link")" == "$demo/"* ]]; then rm -f "$link"; fi
  echo "stopped; .demo/ removed"
else
  echo "stopped (the demo's state is kept in .demo/; scripts/stop.sh --purge removes it)"
fi
