// The demo app that scripts/run.sh deploys (docs/releases.md): a small HTTP server with no
// dependencies, run by PM2 in cluster mode (ecosystem.config.js).
//
//   GET /    a greeting (GREETING from the shared .env) and the version
//   GET /up  the health endpoint: 200 {"status":"ok","version":"<commit>",...} once started
//
// The version is the commit the build step (build.sh) wrote into version.txt; the deployer's
// health check expects it in /up's answer, which proves the new release answers rather than an
// old worker. Environment: PORT (default 3500), HOST (default 127.0.0.1).
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

// KEY=VALUE lines of .env (in release mode a link into the deployment's shared/ folder, so it
// survives every release); a missing file is fine. Variables already set win.
function loadEnv(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && process.env[match[1]] === undefined) process.env[match[1]] = match[2];
  }
}

function readVersion() {
  try {
    return fs.readFileSync(path.join(__dirname, 'version.txt'), 'utf8').trim();
  } catch {
    return 'unbuilt';
  }
}

loadEnv(path.join(__dirname, '.env'));
const version = readVersion();
const greeting = process.env.GREETING || 'Hello from the demo app';
const port = Number(process.env.PORT || 3500);
const host = process.env.HOST || '127.0.0.1';
const started = new Date().toISOString();

function send(res, status, type, body) {
  res.writeHead(status, {'Content-Type': type, 'Cache-Control': 'no-store'});
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = req.url.split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', 'method not allowed\n');
  } else if (url === '/up') {
    // Health: this process started completely and serves this version. A real app would also
    // check, cheaply, what it cannot work without (its database answers `SELECT 1`).
    send(res, 200, 'application/json',
         JSON.stringify({status: 'ok', version, pid: process.pid, started}) + '\n');
  } else if (url === '/') {
    send(res, 200, 'text/plain', `${greeting} (version ${version})\n`);
  } else {
    send(res, 404, 'text/plain', 'not found\n');
  }
});

server.listen(port, host, () => {
  console.log(`demo app ${version} listening on http://${host}:${port} (pid ${process.pid})`);
  // wait_ready: PM2 counts this worker as started only now, and only then stops an old one.
  if (process.send) process.send('ready');
});

// PM2 stops a worker with SIGINT (SIGKILL after kill_timeout). Stop accepting at once, but exit
// only 300 ms later: in cluster mode the master may already have handed this worker connections
// it has not seen yet; exiting the moment close() returns would reset them.
// SIGTERM (the deployer's preflight, systemd) comes from no cluster master: stop accepting and
// exit once the open connections are done.
let stopping = false;
function stop(signal, exit) {
  if (stopping) return;
  stopping = true;
  console.log(`demo app ${version}: ${signal}, closing`);
  exit();
}
process.on('SIGINT', () => stop('SIGINT', () => {
  server.close();
  setTimeout(() => process.exit(0), 300);
}));
process.on('SIGTERM', () => stop('SIGTERM', () => server.close(() => process.exit(0))));
