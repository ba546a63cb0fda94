#!/usr/bin/env bash
# The run command (README): on a fresh Debian 12 machine, installs what is missing, builds,
# starts the embedded PostgreSQL (unless DATABASE_URL is set), migrates the ledger, creates the
# state directory, and starts the receiver, the router, the demo deployment's deployer and the
# dashboard (user `demo`, password printed at the end) under PM2, with a demo configuration whose
# deployment `demo` deploys from a local git repository created here. Every run also pushes one
# new commit to that repository, so the next `build/bin/deployctl send-test-push demo` has
# something new to deploy.
#
# Everything lives in .demo/ (git-ignored): the configuration, the secret, the PostgreSQL
# cluster, the git repositories, the state directory, PM2's home. config/deployer.json (the
# programs' default configuration) is made a symbolic link to .demo/deployer.json unless that
# file already exists and is something else, so `build/bin/deployctl ...` needs no options.
#
# Safe to run twice: what exists is kept, the build is incremental, PM2 reloads the apps with the
# new binaries. scripts/stop.sh stops everything (scripts/stop.sh --purge also removes .demo/).
# Environment: DEMO_PORT (default 3400), DEMO_DASHBOARD_PORT (default DEMO_PORT + 1), DATABASE_URL
# (use this database instead of the embedded one), JOBS (build parallelism, default: the number of
# CPUs).
#
# `scripts/run.sh --production` (as root) runs the demo deployment the way docs/operations.md sets
# up a real one: its steps, git and the app's own PM2 daemon run as the user durhack-demo-app
# (created here, a system user without login), through `run_as`; its release folders and PM2 home
# are that user's. It uses .demo/sites/demo-production and .demo/app-pm2-production, so the two
# modes do not share a release folder (they share the deployment's history in the ledger);
# switching stops the other mode's app.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
demo="$here/.demo"
port="${DEMO_PORT:-3400}"
dashboard_port="${DEMO_DASHBOARD_PORT:-$((port + 1))}"
pm2="$here/pm2/node_modules/.bin/pm2"
export PM2_HOME="$demo/pm2-home"

say() { echo "run: $*" >&2; }
die() {
  echo "run: error: $*" >&2
  exit 1
}

production=0
for arg in "$@"; do
  case "$arg" in
    --production) production=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option $arg (usage: scripts/run.sh [--production])" ;;
  esac
done
app_user=durhack-demo-app
if ((production)) && [[ $(id -u) -ne 0 ]]; then
  die "--production creates the user $app_user and runs the demo's steps as that user: run it as root"
fi

# 1. Packages (only what is missing) and the pinned PM2.
scripts/setup.sh

# 2. Build. Configured once; later runs only rebuild what changed (cmake re-runs itself when a
# CMakeLists.txt changed). A cache written by a checkout in another folder (this one was moved or
# copied) names that folder's absolute paths and would build there: it is thrown away.
if [[ -f build/CMakeCache.txt ]]; then
  cached_source=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' build/CMakeCache.txt)
  if [[ "$cached_source" != "$(pwd)" && "$cached_source" != "$(pwd -P)" ]]; then
    say "build/ was configured for $cached_source: configuring it again for $(pwd -P)"
    rm -rf build/CMakeCache.txt build/CMakeFiles
  fi
fi
if [[ ! -f build/CMakeCache.txt ]]; then
  say "configuring build/ (Release)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDEPLOY_TESTS=OFF >/dev/null
fi
say "building (cmake --build build)"
build_log=$(mktemp)
if ! cmake --build build -j"${JOBS:-$(nproc)}" >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  rm -f "$build_log"
  die "the build failed (the end of its output is above)"
fi
rm -f "$build_log"

mkdir -p "$demo"
# The embedded PostgreSQL runs as `postgres` when this runs as root: it must enter .demo/.
chmod 0755 "$demo"

# 3. The database: the caller's DATABASE_URL, or an embedded throwaway cluster in .demo/pg whose
# connection string pg.sh writes to .demo/pg/url (the configuration reads it from there).
if [[ -n "${DATABASE_URL:-}" ]]; then
  database_source='{ "env": "DATABASE_URL" }'
  say "using the database in \$DATABASE_URL"
else
  pgdir="$demo/pg"
  if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$demo" 2>/dev/null; then
    # `postgres` cannot reach .demo/ (e.g. a checkout under /root): keep the cluster where it can,
    # and leave a link in .demo/ so scripts/stop.sh finds it.
    pgdir="/var/tmp/durhack-deployer-demo-$(printf %s "$demo" | md5sum | cut -c1-10)/pg"
    mkdir -p "$(dirname "$pgdir")" && chmod 0755 "$(dirname "$pgdir")"
    ln -sfn "$pgdir" "$demo/pg"
  fi
  scripts/pg.sh start "$pgdir" >/dev/null
  database_source="{ \"file\": \"$pgdir/url\" }"
fi

# 4. The webhook secret: generated once, in a file only its owner can read.
if [[ ! -s "$demo/webhook-secret" ]]; then
  (umask 077 && openssl rand -hex 32 >"$demo/webhook-secret")
fi

# 4b. The dashboard's demo user (an operator): a password generated once and printed at the end,
# kept in the configuration only as its argon2id hash; and the token for /metrics.
if [[ ! -s "$demo/dashboard-password" ]]; then
  (umask 077 && openssl rand -hex 9 >"$demo/dashboard-password")
fi
if [[ ! -s "$demo/dashboard-demo.hash" || "$demo/dashboard-password" -nt "$demo/dashboard-demo.hash" ]]; then
  (umask 077 && build/bin/deployctl hash-password <"$demo/dashboard-password" >"$demo/dashboard-demo.hash")
fi
if [[ ! -s "$demo/metrics-token" ]]; then
  (umask 077 && openssl rand -hex 32 >"$demo/metrics-token")
fi

# 5. A local "GitHub": a bare origin and an author clone to make commits in. The app's files are
# demo/app/ of this checkout (a small Node.js HTTP server run by PM2 in cluster mode); each run
# copies them in again, so a change to demo/app/ reaches the demo with the next commit.
git_as_demo() { git -c user.name=demo -c user.email=demo@localhost -c init.defaultBranch=main "$@"; }
if [[ ! -d "$demo/origin.git" ]]; then
  rm -rf "$demo/origin.git.tmp" "$demo/author"
  git_as_demo init -q --bare -b main "$demo/origin.git.tmp"
  mv "$demo/origin.git.tmp" "$demo/origin.git"
fi
if [[ ! -d "$demo/author/.git" ]]; then
  rm -rf "$demo/author"
  git_as_demo init -q -b main "$demo/author"
  git_as_demo -C "$demo/author" remote add origin "$demo/origin.git"
fi
cp demo/app/server.js demo/app/ecosystem.config.js demo/app/build.sh demo/app/package.json \
  demo/app/package-lock.json demo/app/.gitignore "$demo/author/"
[[ -f "$demo/author/README.md" ]] ||
  echo "# demo app, deployed by the local demo of the deploy pipeline (demo/app/ in its repository)" >"$demo/author/README.md"
# commit_app MESSAGE: commit what changed (an empty commit when nothing did) and push it.
commit_app() {
  git_as_demo -C "$demo/author" add -A
  git_as_demo -C "$demo/author" commit -q --allow-empty -m "$1"
  git_as_demo -C "$demo/author" push -q origin main
  git -C "$demo/author" rev-parse HEAD
}
if ! git -C "$demo/author" rev-parse -q --verify HEAD >/dev/null || [[ -n $(git -C "$demo/author" status --porcelain) ]]; then
  commit_app "demo app" >/dev/null
fi

# The deployment's root, in release mode (docs/releases.md): releases/, current, shared/. Its
# shared .env (kept across releases) holds the app's greeting; edit it and deploy to change it.
site="$demo/sites/demo"
app_pm2_home="$demo/app-pm2"
other_app_pm2_home="$demo/app-pm2-production"
if ((production)); then
  site="$demo/sites/demo-production"
  app_pm2_home="$demo/app-pm2-production"
  other_app_pm2_home="$demo/app-pm2"
  # The app's user: its home holds npm's cache and its git configuration.
  if ! id -u "$app_user" >/dev/null 2>&1; then
    say "creating the system user $app_user (the demo app's steps and processes run as it)"
    useradd --system --user-group --home-dir "$demo/app-home" --shell /usr/sbin/nologin "$app_user"
  fi
  install -d -o "$app_user" -g "$app_user" -m 0755 "$demo/app-home"
  # Git refuses a repository that belongs to someone else; the origin is root's (the author
  # pushes to it) and the app's user only reads it, so that user trusts this one folder.
  printf '[safe]\n\tdirectory = %s\n' "$demo/origin.git" >"$demo/app-home/.gitconfig"
  chown "$app_user:" "$demo/app-home/.gitconfig"
  for needed in "$demo/origin.git" "$pm2"; do
    runuser -u "$app_user" -- test -r "$needed" ||
      die "$app_user cannot reach $needed (a folder above the checkout is private, e.g. /root): move the checkout to a folder other users can enter, e.g. /srv"
  done
fi
if [[ -d "$site/.git" ]]; then
  # A working tree from when the demo deployed in place: release mode needs a root of its own.
  mv "$site" "$demo/sites/demo.in-place.$(date +%s)"
fi
mkdir -p "$site/shared"
[[ -f "$site/shared/.env" ]] || echo "GREETING=Hello from the demo app" >"$site/shared/.env"
if ((production)); then
  # docs/operations.md's layout: the root and its `current` link are the deployer's, the folders
  # the app builds in are the app's.
  chmod 0755 "$site"
  install -d -o "$app_user" -g "$app_user" -m 0755 "$site/repo.git" "$site/releases"
  chown -R "$app_user:" "$site/shared"
fi

# The app's own PM2 daemon (not the pipeline's): started here, before any deploy, so that the
# deploy's activate step only talks to it. A daemon started by a step would be one of that step's
# processes, which the deployer ends when the step times out.
app_port="${DEMO_APP_PORT:-3500}"
if ((production)); then
  install -d -o "$app_user" -g "$app_user" -m 0700 "$app_pm2_home"
  app_pm2() { runuser -u "$app_user" -- env PM2_HOME="$app_pm2_home" "$pm2" "$@"; }
else
  app_pm2() { PM2_HOME="$app_pm2_home" "$pm2" "$@"; }
fi
# The other mode's app holds the app's port: stop its daemon (its releases stay).
if [[ -S "$other_app_pm2_home/rpc.sock" ]]; then
  say "stopping the demo app of the other mode ($other_app_pm2_home)"
  owner=$(stat -c %U "$other_app_pm2_home")
  as_owner=()
  [[ "$owner" == "$(id -un)" ]] || as_owner=(runuser -u "$owner" --)
  "${as_owner[@]}" env PM2_HOME="$other_app_pm2_home" "$pm2" kill >/dev/null 2>&1 || true
fi
app_pm2 ping >/dev/null

# 6. The configuration, with absolute paths so it reads the same through config/deployer.json.
allow_root=false
if [[ $(id -u) -eq 0 ]]; then
  allow_root=true
  say "running as root: the demo configuration sets allow_root (production runs as an unprivileged user)"
fi
run_as_line=""
if ((production)); then run_as_line=$'\n      "run_as": "'"$app_user"'",'; fi
cat >"$demo/deployer.json.tmp" <<JSON
{
  "_comment": "Written by scripts/run.sh for the local demo; docs/configuration.md explains every key.",
  "instance": "localhost-demo",
  "state_dir": "$demo/var",
  "listen": { "host": "127.0.0.1", "port": $port },
  "allow_root": $allow_root,
  "secrets": { "webhook": [ { "file": "$demo/webhook-secret" } ] },
  "database": { "url": $database_source },
  "router": { "settle_ms": 500 },
  "dashboard": {
    "listen": { "host": "127.0.0.1", "port": $dashboard_port },
    "public_url": "http://127.0.0.1:$dashboard_port",
    "metrics_token": { "file": "$demo/metrics-token" },
    "users": [ { "name": "demo", "password_hash": { "file": "$demo/dashboard-demo.hash" }, "role": "operator" } ]
  },
  "deployments": {
    "demo": {
      "repository": "local/demo",
      "branch": "main",
      "path": "$site",
      "remote": "$demo/origin.git",
      "env": { "INSTANCE_NAME": "demo.localhost", "PORT": "$app_port", "PM2_HOME": "$app_pm2_home" },$run_as_line
      "releases": { "keep": 5, "shared": [".env"] },
      "steps": [
        { "name": "install", "run": ["npm", "ci", "--no-audit", "--no-fund"], "only_if_changed": ["package-lock.json"], "timeout_s": 300 },
        { "name": "build", "run": ["./build.sh"], "timeout_s": 60 }
      ],
      "preflight": { "run": ["node", "server.js"], "port_env": "PORT", "path": "/up", "timeout_s": 20 },
      "activate": [
        { "name": "reload", "run": ["$pm2", "startOrReload", "ecosystem.config.js", "--update-env"], "timeout_s": 120 }
      ],
      "health_check": {
        "url": "http://127.0.0.1:$app_port/up", "expect_status": 200, "expect_body": "\${DEPLOY_SHA}",
        "timeout_s": 30, "interval_ms": 250, "successes": 2
      }
    }
  }
}
JSON
mv -f "$demo/deployer.json.tmp" "$demo/deployer.json"
export DEPLOYER_CONFIG="$demo/deployer.json"
if ! problem=$(build/bin/deployctl check-config 2>&1 >/dev/null); then
  die "the demo configuration is invalid: $problem"
fi

# config/deployer.json is the programs' default: point it at the demo unless it is someone's own.
default_config="$here/config/deployer.json"
if [[ -L "$default_config" || ! -e "$default_config" ]]; then
  ln -sfn "$demo/deployer.json" "$default_config"
  linked=1
else
  linked=0
  say "config/deployer.json exists and is not the demo's: left alone (use DEPLOYER_CONFIG below)"
fi

# 7. The ledger's schema and the state directory (every program also creates it at start).
build/bin/deployctl migrate | sed 's/^/run: /' >&2
mkdir -p "$demo/var"
chmod 0700 "$demo/var"

# 8. PM2: start the apps, or reload them with the new binaries and environment.
export DEPLOY_BIN_DIR="$here/build/bin"
receiver_online() {
  "$pm2" jlist 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const line = s.split("\n").find((l) => l.startsWith("[")) || "[]";
      const apps = JSON.parse(line);
      process.exit(apps.some((a) => a.name === "receiver" && a.pm2_env.status === "online") ? 0 : 1);
    });'
}
port_busy() { (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if port_busy && ! receiver_online; then
  die "port $port is in use by another program: stop it, or choose another port with DEMO_PORT=3401 scripts/run.sh"
fi
"$pm2" startOrReload pm2/ecosystem.config.js --update-env >/dev/null
"$pm2" save >/dev/null 2>&1 || true

# 9. Wait until every app is online and the receiver answers.
for ((i = 0; i < 100; i++)); do
  if port_busy; then break; fi
  sleep 0.1
done
states=$("$pm2" jlist 2>/dev/null | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const line = s.split("\n").find((l) => l.startsWith("[")) || "[]";
    for (const a of JSON.parse(line)) console.log(a.name + " " + a.pm2_env.status);
  });')
if ! port_busy || grep -qv ' online$' <<<"$states"; then
  echo "$states" >&2
  "$pm2" logs --nostream --lines 20 >&2 || true
  die "the pipeline did not start (PM2's view and logs are above)"
fi

# 10. The app: the first run deploys the first commit through the whole pipeline (so the app
# answers), then every run pushes one new commit, so the next `deployctl send-test-push demo`
# has a new version to switch to (the tip already deployed would be skipped as stale, as
# GitHub's redelivery of an old push is).
# app_up: prints the app's /up answer; fails when it does not answer 200.
app_up() {
  node -e '
    const req = require("http").get(process.argv[1], {timeout: 2000}, (res) => {
      let body = ""; res.on("data", (d) => (body += d));
      res.on("end", () => { process.stdout.write(body); process.exit(res.statusCode === 200 ? 0 : 1); });
    });
    req.on("timeout", () => req.destroy(new Error("timeout"))).on("error", () => process.exit(1));' \
    "http://127.0.0.1:$app_port/up"
}
if [[ ! -L "$site/current" ]]; then
  if (: <"/dev/tcp/127.0.0.1/$app_port") 2>/dev/null; then
    die "port $app_port (the demo app's) is in use by another program: choose another with DEMO_APP_PORT=3501 scripts/run.sh"
  fi
  # A new commit first: the tip may be deployed already as far as the ledger knows (the other
  # mode's site, or a database that outlived .demo/), and a push of it would be skipped as stale.
  first=$(commit_app "demo: first release in $site")
  say "deploying the demo app's first release (deployctl send-test-push demo --sha ${first:0:12})"
  if ! build/bin/deployctl send-test-push demo --sha "$first" | sed 's/^/run:   /' >&2; then
    build/bin/deployctl logs demo >&2 || true
    die "the first deploy of the demo app failed (its log is above)"
  fi
elif ! app_up >/dev/null; then
  # Deployed before, but its PM2 daemon was stopped (scripts/stop.sh): start the live release
  # the way the activate step does.
  say "starting the live release of the demo app under PM2"
  (cd "$site/current" && DEPLOY_ROOT="$site" PORT="$app_port" app_pm2 startOrReload ecosystem.config.js --update-env >/dev/null)
fi
for ((i = 0; i < 100; i++)); do
  if app_up >/dev/null; then break; fi
  sleep 0.1
done
app_up >/dev/null || die "the demo app does not answer on http://127.0.0.1:$app_port/up ($(app_pm2 logs --nostream --lines 10 2>&1 | tail -n 10))"
if ((production)); then
  owner=$(ps -o user= -p "$(app_pm2 pid 2>/dev/null | head -n 1 | tr -d ' ')" 2>/dev/null || true)
  say "the demo app runs as ${owner:-?}; its steps and git run as $app_user (run_as)"
fi
live=$(cat "$site/current/REVISION" 2>/dev/null || echo none)
runs=$(($(cat "$demo/author/RUNS" 2>/dev/null || echo 0) + 1))
echo "$runs" >"$demo/author/RUNS"
tip=$(commit_app "demo release $runs")

config_hint=""
if ((!linked)); then config_hint="export DEPLOYER_CONFIG=$DEPLOYER_CONFIG"$'\n  '; fi
cat <<TXT

The pipeline is running under PM2: $(tr '\n' ' ' <<<"$states")
  webhook URL:    http://127.0.0.1:$port/github-webhook   (health: http://127.0.0.1:$port/)
  webhook secret: $demo/webhook-secret
  dashboard:      http://127.0.0.1:$dashboard_port/   user demo, password $(cat "$demo/dashboard-password")
  configuration:  $DEPLOYER_CONFIG$( ((linked)) && echo " (also config/deployer.json)")
  demo app:       http://127.0.0.1:$app_port/ (health: /up), PM2 cluster of 2, PM2_HOME=$app_pm2_home$( ((production)) && echo ", user $app_user")
                  live: ${live:0:12}; new commit ${tip:0:12} pushed to $demo/origin.git, not deployed yet
  releases:       $site/releases, $site/current -> the live one, $site/shared/.env

Try:
  ${config_hint}build/bin/deployctl send-test-push demo   # a signed push through the receiver: builds ${tip:0:12}, checks it, switches
  curl -s http://127.0.0.1:$app_port/up       # the version that answers
  build/bin/deployctl releases demo           # the kept releases; which one is live
  build/bin/deployctl rollback demo --wait    # back to the previous release, no rebuild
  build/bin/deployctl status                  # queues, active entries, last outcomes
  build/bin/deployctl logs demo               # the last deploy's log
  PM2_HOME=$PM2_HOME pm2/node_modules/.bin/pm2 ls        # the pipeline
  $( ((production)) && echo "runuser -u $app_user -- env ")PM2_HOME=$app_pm2_home pm2/node_modules/.bin/pm2 ls   # the demo app
Stop everything with scripts/stop.sh
TXT
