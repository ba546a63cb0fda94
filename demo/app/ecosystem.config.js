// PM2 runs the demo app in cluster mode: two workers share the port, and
// `pm2 startOrReload ecosystem.config.js --update-env` replaces them one at a time, each new
// worker only once it said it is ready (wait_ready), so the port always has a worker behind it.
// Environment (from the deployer's activate step): PORT, APP_NAME, DEPLOY_ROOT.
'use strict';

const fs = require('fs');
const path = require('path');

// In release mode the deployer runs this file in DEPLOY_ROOT/current, the symlink to the live
// release, and PM2 keeps the script path and working folder it was first given: name them
// through `current`, so each reload starts the release `current` points to at that moment.
// (Through the release's own folder, every reload would start the first release again.)
const root = process.env.DEPLOY_ROOT;
const dir = root && fs.existsSync(path.join(root, 'current')) ? path.join(root, 'current') : __dirname;

module.exports = {
  apps: [{
    name: process.env.APP_NAME || 'demo-app',
    script: path.join(dir, 'server.js'),
    cwd: dir,
    exec_mode: 'cluster',
    instances: 2,
    wait_ready: true,
    // How long PM2 waits for 'ready' before it counts a new worker as started anyway.
    listen_timeout: 10000,
    // SIGINT, then SIGKILL after this long: the server exits 300 ms after SIGINT.
    kill_timeout: 5000,
    env: {PORT: process.env.PORT || '3500'},
  }],
};
