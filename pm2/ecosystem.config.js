// PM2 apps for the deploy pipeline, derived from the configuration file: `receiver`, `router`, one
// `deployer-<name>` per enabled deployment, and `dashboard` when the configuration has dashboard
// users (docs/dashboard.md). Adding a deployment to the configuration needs no
// edit here: `pm2 reload ecosystem.config.js` (or scripts/run.sh) picks it up.
//
// Environment:
//   DEPLOYER_CONFIG  configuration file (default: ../config/deployer.json)
//   DEPLOY_HOST      this machine's name (default: the configuration's "host", else the system's
//                    host name): only deployments whose "hosts" include it get a deployer here
//                    (docs/hosts.md)
//   DEPLOY_BIN_DIR   folder with the built programs (default: ../build/bin)
// Secrets (WEBHOOK_SECRET, DATABASE_URL, GITHUB_TOKEN) are inherited from the environment of the
// `pm2 start` command, or read from the files the configuration names; they are never written here.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const configFile = path.resolve(process.env.DEPLOYER_CONFIG || path.join(root, 'config', 'deployer.json'));
const binDir = path.resolve(process.env.DEPLOY_BIN_DIR || path.join(root, 'build', 'bin'));

let config;
try {
  config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
} catch (err) {
  throw new Error(`ecosystem.config.js: cannot read ${configFile}: ${err.message}`);
}

function app(name, program, extraArgs) {
  return {
    name,
    script: path.join(binDir, program),
    args: ['--config', configFile, ...extraArgs],
    interpreter: 'none',
    exec_mode: 'fork',
    cwd: path.dirname(configFile),
    autorestart: true,
    // Back off when a program keeps failing (a broken configuration, a schema that needs
    // `deployctl migrate`): PM2 waits 100 ms, then 1.5 times longer after each crash, at most
    // 15 s, and starts again from 100 ms once the app has stayed up for 30 s. A kill -9 or a
    // crash is restarted within about a second; every program recovers its state at start-up.
    exp_backoff_restart_delay: 100,
    // An app that dies within 5 s of starting counts as unstable; after max_restarts unstable
    // restarts in a row PM2 gives up on it (status "errored", shown by `pm2 ls`).
    min_uptime: 5000,
    max_restarts: 50,
    // PM2 sends SIGINT, then SIGKILL after kill_timeout. A deployer needs time to stop its running
    // step's process group (SIGTERM, then SIGKILL after 5 s) and exit.
    kill_timeout: program === 'deployer' ? 15000 : 5000,
    // Each line also carries the program's own UTC timestamp; PM2's says when it was written.
    log_date_format: 'YYYY-MM-DDTHH:mm:ss.SSSZ',
    merge_logs: true,
    env: {DEPLOYER_CONFIG: configFile},
  };
}

// The precedence every program applies (common/hosts.hpp), --host aside: the programs started here
// inherit DEPLOY_HOST, so they agree with this file about which host this is.
const host = process.env.DEPLOY_HOST || config.host || os.hostname().toLowerCase();
// Without "hosts", a deployment runs on every host that loads the file (one machine, as before).
function runsHere(d) {
  if (!Array.isArray(d.hosts)) return true;
  return d.hosts.some((h) => (typeof h === 'string' ? h : h && h.name) === host);
}

// Keys starting with "_" are comments (docs/configuration.md), not deployments.
const deployments = Object.entries(config.deployments || {})
    .filter(([name, d]) => !name.startsWith('_') && d && typeof d === 'object' && d.enabled !== false)
    .filter(([, d]) => runsHere(d))
    .map(([name]) => name);

// The dashboard refuses to start without users: run it only when someone could log in.
const dashboard = config.dashboard && Array.isArray(config.dashboard.users) && config.dashboard.users.length > 0;

module.exports = {
  apps: [
    app('receiver', 'receiver', []),
    app('router', 'router', []),
    ...deployments.map((name) => app(`deployer-${name}`, 'deployer', ['--deployment', name])),
    ...(dashboard ? [app('dashboard', 'dashboard', [])] : []),
  ],
};
