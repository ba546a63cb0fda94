#!/usr/bin/env node
// load-client.js: constant HTTP load on one URL that counts every failed request, for the
// release tests (tests/e2e/releases_test.cpp) and the deploys benchmark (bench/deploys.py).
//
//   node demo/load-client.js --url http://127.0.0.1:3500/up [--rate 200] [--concurrency 4]
//                            [--timeout-ms 5000] [--max-s 600] [--events FILE]
//
// Every request uses a fresh connection (as browsers behind a proxy and health checkers do), so
// a worker that stops accepting is seen at once. A request fails when the connection is refused
// or reset, the answer is not 2xx, or no complete answer comes within --timeout-ms.
// --events FILE gets one JSON line per change of the served version ({"t":ms,"version":"..."},
// from the "version" field of a JSON answer) and one per failure ({"t":ms,"error":"refused"}),
// so a driver can time a switch. Runs until SIGINT/SIGTERM or --max-s seconds (a bound: nothing
// runs forever), then prints one JSON summary line on stdout and exits 0. Loopback only: any
// other host is refused.
'use strict';

const fs = require('fs');
const http = require('http');

function parseArgs(argv) {
  const options = {rate: 200, concurrency: 4, timeoutMs: 5000, maxS: 600, url: '', events: ''};
  const names = {'--url': 'url', '--rate': 'rate', '--concurrency': 'concurrency',
                 '--timeout-ms': 'timeoutMs', '--max-s': 'maxS', '--events': 'events'};
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) usage(`unknown or incomplete option ${argv[i]}`);
    options[key] = ['url', 'events'].includes(key) ? argv[i + 1] : Number(argv[i + 1]);
  }
  let url;
  try {
    url = new URL(options.url);
  } catch {
    usage('--url is missing or not a URL');
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    usage('--url must be http:// on loopback');
  }
  for (const key of ['rate', 'concurrency', 'timeoutMs', 'maxS']) {
    if (!Number.isFinite(options[key]) || options[key] <= 0) usage(`--${key} must be a positive number`);
  }
  return options;
}

const HELP = 'usage: load-client.js --url URL [--rate N] [--concurrency N] [--timeout-ms MS] ' +
             '[--max-s S] [--events FILE]\n';

function usage(problem) {
  process.stderr.write(`load-client: ${problem}\n${HELP}`);
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));
const events = options.events ? fs.openSync(options.events, 'a') : null;
const counts = {requests: 0, ok: 0, non2xx: 0, refused: 0, reset: 0, timeout: 0, other: 0};
const versions = {};
let lastVersion = null;
let running = true;
const startedAt = Date.now();

function event(record) {
  if (events !== null) fs.writeSync(events, JSON.stringify({t: Date.now(), ...record}) + '\n');
}

function fail(kind, detail) {
  counts[kind] += 1;
  event({error: kind, detail});
}

function classify(err) {
  if (err.code === 'ECONNREFUSED') return 'refused';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'socket hang up') return 'reset';
  return 'other';
}

// One request on a fresh connection; resolves when it has been counted.
function once() {
  return new Promise((resolve) => {
    let settled = false;
    const done = (fn) => {
      if (!settled) {
        settled = true;
        fn();
        resolve();
      }
    };
    counts.requests += 1;
    const req = http.get(options.url, {agent: false, headers: {Connection: 'close'}}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (err) => done(() => fail(classify(err), err.message)));
      res.on('end', () => done(() => {
        if (res.statusCode < 200 || res.statusCode > 299) {
          fail('non2xx', String(res.statusCode));
          return;
        }
        counts.ok += 1;
        let version = null;
        try {
          version = JSON.parse(Buffer.concat(chunks).toString()).version || null;
        } catch {
          // not JSON: no version to follow
        }
        if (version !== null) {
          versions[version] = (versions[version] || 0) + 1;
          if (version !== lastVersion) {
            lastVersion = version;
            event({version});
          }
        }
      }));
    });
    req.setTimeout(options.timeoutMs, () => {
      done(() => fail('timeout', `${options.timeoutMs} ms`));
      req.destroy();
    });
    req.on('error', (err) => done(() => fail(classify(err), err.message)));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Each of the loops sends one request every concurrency/rate seconds (less often when the
// server is slower than that).
async function loop() {
  const interval = (1000 * options.concurrency) / options.rate;
  while (running) {
    const begin = Date.now();
    await once();
    const left = interval - (Date.now() - begin);
    if (left > 0 && running) await sleep(left);
  }
}

function finish() {
  running = false;
}
process.on('SIGINT', finish);
process.on('SIGTERM', finish);
const bound = setTimeout(finish, options.maxS * 1000);

Promise.all(Array.from({length: options.concurrency}, loop)).then(() => {
  clearTimeout(bound);
  const failed = counts.non2xx + counts.refused + counts.reset + counts.timeout + counts.other;
  process.stdout.write(JSON.stringify({...counts, failed, versions,
                                       seconds: (Date.now() - startedAt) / 1000}) + '\n');
  if (events !== null) fs.closeSync(events);
});
