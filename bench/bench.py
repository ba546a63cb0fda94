#!/usr/bin/env python3
"""bench.py: the benchmark driver of issue 9 (bench/run.sh builds the programs, then runs this).

    bench/bench.py --build BUILD_DIR [--rounds 3] [--seconds 4] [--out bench/results.md] [--keep]

Everything talks to 127.0.0.1 only and is bounded in count and time. Sections:
  1. load: the receiver at 1, 8 and 64 connections, adnanh/webhook (waiting mode and default
     mode) at the same loads, and bench/fsync_limit at 1, 8 and 64 threads, interleaved round by
     round so every comparison sees the same noise; medians over the rounds.
     Every run gets a fresh state folder (ext4 is slow right after mass deletions: nothing is
     deleted until the very end).
  2. e2e: receiver + router + two deployers + PostgreSQL (scripts/pg.sh --fast): 200 pushes, one
     at a time, POST -> the first step's recorded timestamp.
  3. backlog: 10,000 entries in inbox/, the router (ledger on) started on them, entries/s.
  4. footprint: VmRSS idle and after load of every process; start-up times.
  5. deploys: the demo app under load, deployed in release mode and in place (bench/deploys.py).
Writes the markdown table to --out and prints it. Raw figures go to WORK/raw.json.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SECRET = "bench-secret"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---------------------------------------------------------------- helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=10.0):
    """Seconds until a TCP connect to port succeeds (polled every 0.5 ms)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return time.perf_counter() - start
        except OSError:
            time.sleep(0.0005)
    raise RuntimeError("nothing listens on port %d after %.0f s" % (port, timeout))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def resident_pages(pid):
    """The physical page frames `pid` has resident (from /proc/PID/pagemap; frame numbers are
    only shown to root, None otherwise)."""
    frames = set()
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/pagemap" % pid, "rb") as pagemap:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if line.rstrip().endswith("[vsyscall]"):
                continue
            pagemap.seek(start // 4096 * 8)
            data = pagemap.read((end - start) // 4096 * 8)
            for (value,) in struct.iter_unpack("<Q", data):
                if value >> 63:  # present
                    frame = value & ((1 << 55) - 1)
                    if frame == 0:
                        return None
                    frames.add(frame)
    return frames


def together_kib(pids):
    """Memory the processes occupy together: resident pages counted once, however many of the
    processes map them (the shared libraries: libstdc++, libpq, OpenSSL...)."""
    frames = set()
    for pid in pids:
        mine = resident_pages(pid)
        if mine is None:
            return None
        frames |= mine
    return len(frames) * 4


def count_entries(folder):
    """Canonical *.json names (no dot-temporaries) in folder."""
    try:
        return sum(1 for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    except FileNotFoundError:
        return 0


def stop(proc, sig=signal.SIGTERM, timeout=15):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def push_body(after="0123456789abcdef0123456789abcdef01234567", before="f" * 40, ref="refs/heads/main"):
    """A realistic GitHub push payload of about 8 KB."""
    commit = {"id": after, "tree_id": "e" * 40, "distinct": True,
              "message": "Fix the registration form validation and tidy the API handlers " * 2,
              "timestamp": "2026-11-23T04:05:06+00:00",
              "url": "https://github.com/ducompsoc/durhack/commit/" + after,
              "author": {"name": "A Person", "email": "a.person@example.com", "username": "aperson"},
              "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
              "added": [], "removed": [], "modified": ["server/src/app.ts", "pnpm-lock.yaml"]}
    user = {"login": "aperson", "id": 1234567, "node_id": "MDQ6VXNlcjEyMzQ1Njc=",
            "avatar_url": "https://avatars.githubusercontent.com/u/1234567?v=4",
            "url": "https://api.github.com/users/aperson", "type": "User", "site_admin": False}
    repo = {"id": 123456789, "node_id": "R_kgDOBbbbbb", "name": "durhack",
            "full_name": "ducompsoc/durhack", "private": False, "owner": user,
            "html_url": "https://github.com/ducompsoc/durhack",
            "description": "The DurHack website, API and registration system " * 3,
            "fork": False, "url": "https://github.com/ducompsoc/durhack",
            "clone_url": "https://github.com/ducompsoc/durhack.git",
            "default_branch": "main", "master_branch": "main", "size": 12345,
            "stargazers_count": 12, "watchers_count": 12, "language": "TypeScript"}
    body = {"ref": ref, "before": before, "after": after, "repository": repo,
            "pusher": {"name": "aperson", "email": "a.person@example.com"}, "sender": user,
            "created": False, "deleted": False, "forced": False, "base_ref": None,
            "compare": "https://github.com/ducompsoc/durhack/compare/%s...%s" % (before[:12], after[:12]),
            "commits": [commit] * 8, "head_commit": commit}
    return json.dumps(body).encode()


def signature(body):
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, p):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.join(os.path.abspath(args.build), "bin")
        self.work = tempfile.mkdtemp(prefix="deploy-bench.")
        os.chmod(self.work, 0o755)  # scripts/pg.sh runs the server as postgres: it must enter
        self.raw = {"load": [], "fsync": [], "startup": {}, "rss": {}, "e2e": {}, "backlog": {}}
        self.body_file = os.path.join(self.work, "body.json")
        body = push_body()
        with open(self.body_file, "wb") as f:
            f.write(body)
        self.body_bytes = len(body)
        self.sig = signature(body)
        self.procs = []
        self.fsync_tool = os.path.join(self.work, "fsync_limit")
        subprocess.run(["g++", "-std=c++20", "-O2", "-pthread", "-o", self.fsync_tool,
                        os.path.join(HERE, "fsync_limit.cpp")], check=True)

    def log(self, *what):
        print("bench:", *what, file=sys.stderr, flush=True)

    def fresh(self, name):
        path = os.path.join(self.work, name)
        os.makedirs(path)
        return path

    def env(self, **extra):
        env = dict(os.environ, WEBHOOK_SECRET=SECRET, DEPLOY_ALLOW_ROOT="1")
        env.update(extra)
        return env

    # -- wrk
    def wrk(self, url, connections, seconds, tag):
        threads = min(2, connections)
        out = subprocess.run(
            ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s",
             "--latency", "-s", os.path.join(HERE, "receiver-push.lua"), url],
            env=dict(os.environ, BODY_FILE=self.body_file, SIGNATURE=self.sig, RUN_TAG=tag),
            capture_output=True, text=True, timeout=seconds + 60)
        m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
        if not m:
            raise RuntimeError("wrk printed no RESULT line:\n" + out.stdout + out.stderr)
        return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}

    # -- 1. receiver
    def receiver_config(self, folder, port, publish_threads=None):
        receiver = {"max_connections": 1024}
        if publish_threads:
            receiver["publish_threads"] = publish_threads
        config = {"instance": "bench", "state_dir": "var", "allow_root": True,
                  "listen": {"host": "127.0.0.1", "port": port},
                  "receiver": receiver,
                  "deployments": {"site": {"repository": "ducompsoc/durhack", "branch": "main",
                                           "path": os.path.join(folder, "site"), "steps": []}}}
        path = os.path.join(folder, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    def run_receiver(self, connections, rnd, binary=None, mode="durable", publish_threads=None):
        folder = self.fresh("receiver-%s-r%d-c%d" % (mode, rnd, connections))
        port = free_port()
        config = self.receiver_config(folder, port, publish_threads)
        with open(os.path.join(folder, "receiver.log"), "w") as log:
            proc = subprocess.Popen([binary or os.path.join(self.bin, "receiver"), "--config", config],
                                    env=self.env(), stdout=log, stderr=log)
        try:
            start_s = wait_listening(port, proc)
            time.sleep(0.2)
            idle = rss_kib(proc.pid)
            res = self.wrk("http://127.0.0.1:%d/github-webhook" % port, connections,
                           self.args.seconds, "%s-r%d-c%d" % (mode, rnd, connections))
            # Counted at once: every 2xx must already be durable in inbox/.
            res["files"] = count_entries(os.path.join(folder, "var", "inbox"))
            res["rss_load_kib"] = rss_kib(proc.pid)
            res["rss_idle_kib"] = idle
            res["start_ms"] = start_s * 1000
        finally:
            stop(proc)
        res["missing"] = max(0, res["ok"] - res["files"])
        res.update(peer="receiver", mode=mode, c=connections, round=rnd)
        self.raw["load"].append(res)
        self.log("receiver %s c=%d: %.0f req/s p99 %.2f ms ok %d files %d" %
                 (mode, connections, res["rps"], res["p99_ms"], res["ok"], res["files"]))

    # -- 2. adnanh/webhook
    def webhook_hooks(self, folder, wait):
        store = os.path.join(HERE, "webhook", "store.sh")
        out = os.path.join(folder, "out")
        os.makedirs(out)
        hooks = [{
            "id": "deploy",
            "execute-command": store,
            "command-working-directory": out,
            "include-command-output-in-response": wait,
            "pass-arguments-to-command": [{"source": "header", "name": "X-GitHub-Delivery"},
                                          {"source": "entire-payload"}],
            "trigger-rule": {"match": {"type": "payload-hmac-sha256", "secret": SECRET,
                                       "parameter": {"source": "header",
                                                     "name": "X-Hub-Signature-256"}}},
        }]
        path = os.path.join(folder, "hooks.json")
        with open(path, "w") as f:
            json.dump(hooks, f, indent=2)
        return path, out

    def run_webhook(self, connections, rnd, wait):
        mode = "wait" if wait else "default"
        folder = self.fresh("webhook-%s-r%d-c%d" % (mode, rnd, connections))
        hooks, out = self.webhook_hooks(folder, wait)
        port = free_port()
        with open(os.path.join(folder, "webhook.log"), "w") as log:
            proc = subprocess.Popen(["webhook", "-hooks", hooks, "-ip", "127.0.0.1",
                                     "-port", str(port)], stdout=log, stderr=log,
                                    start_new_session=True)
        try:
            start_s = wait_listening(port, proc)
            time.sleep(0.2)
            idle = rss_kib(proc.pid)
            # The default mode forks one command per request without waiting: the commands pile
            # up far faster than the disk can sync them, so its load is kept short.
            seconds = self.args.seconds if wait else max(1, self.args.seconds // 2)
            res = self.wrk("http://127.0.0.1:%d/hooks/deploy" % port, connections, seconds,
                           "w%s-r%d-c%d" % (mode, rnd, connections))
            res["files"] = count_entries(out)  # what a crash right now would keep
            res["rss_load_kib"] = rss_kib(proc.pid)
            res["rss_idle_kib"] = idle
            res["start_ms"] = start_s * 1000
            # Then let the commands still running finish (bounded), to see what is eventually kept.
            deadline = time.monotonic() + 60
            last, stable_since = -1, time.monotonic()
            while time.monotonic() < deadline:
                n = count_entries(out)
                if n != last:
                    last, stable_since = n, time.monotonic()
                elif time.monotonic() - stable_since > 1.5:
                    break
                time.sleep(0.1)
            res["files_later"] = last
        finally:
            stop(proc)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        res["missing"] = max(0, res["ok"] - res["files"])
        res.update(peer="webhook", mode=mode, c=connections, round=rnd)
        self.raw["load"].append(res)
        self.log("webhook %s c=%d: %.0f req/s p99 %.2f ms ok %d files %d (later %d)" %
                 (mode, connections, res["rps"], res["p99_ms"], res["ok"], res["files"],
                  res["files_later"]))

    # -- 3. the disk
    def run_fsync(self, threads, rnd):
        folder = self.fresh("fsync-r%d-t%d" % (rnd, threads))
        out = subprocess.run([self.fsync_tool, str(threads), str(self.args.seconds), folder],
                             capture_output=True, text=True, check=True).stdout
        rate = float(re.search(r"per_s=(\S+)", out).group(1))
        self.raw["fsync"].append({"threads": threads, "round": rnd, "per_s": rate})
        self.log("fsync_limit t=%d: %.0f/s" % (threads, rate))

    def load(self):
        for rnd in range(self.args.rounds):
            for c in (1, 8, 64):
                self.run_receiver(c, rnd)
                if self.args.baseline_receiver:
                    self.run_receiver(c, rnd, self.args.baseline_receiver, "baseline")
                if self.args.variant_threads:
                    self.run_receiver(c, rnd, None, "threads", self.args.variant_threads)
                if not self.args.receivers_only:
                    self.run_webhook(c, rnd, wait=True)
                    self.run_webhook(c, rnd, wait=False)
            for t in (1, 8, 64):
                self.run_fsync(t, rnd)

    # -- 5. start-up
    def startup(self):
        for prog in ("receiver", "router", "deployer", "deployctl"):
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                subprocess.run([os.path.join(self.bin, prog), "--version"], check=True,
                               stdout=subprocess.DEVNULL)
                times.append((time.perf_counter() - t0) * 1000)
            self.raw["startup"][prog + " --version"] = median(times)
        t0 = time.perf_counter()
        subprocess.run(["webhook", "-version"], check=True, stdout=subprocess.DEVNULL)
        self.raw["startup"]["webhook -version (1 run)"] = (time.perf_counter() - t0) * 1000

    # -- 4. end to end
    def make_repository(self, folder, commits):
        """A repository with `commits` linear commits on main (staging at the first), via
        git fast-import; returns the shas oldest first."""
        src = os.path.join(folder, "src")
        subprocess.run(["git", "init", "-q", "-b", "main", src], check=True)
        stream = []
        for i in range(commits):
            msg = "commit %d\n" % i
            content = "version %d\n" % i
            stream.append("commit refs/heads/main\nmark :%d\n"
                          "committer Bench <bench@example.com> %d +0000\ndata %d\n%s"
                          % (i + 1, 1700000000 + i, len(msg), msg))
            if i:
                stream.append("from :%d\n" % i)
            stream.append("M 644 inline app.txt\ndata %d\n%s\n" % (len(content), content))
        stream.append("reset refs/heads/staging\nfrom :1\n\n")
        subprocess.run(["git", "fast-import", "--quiet"], cwd=src, input="".join(stream).encode(),
                       check=True)
        shas = subprocess.run(["git", "rev-list", "--reverse", "main"], cwd=src, check=True,
                              capture_output=True, text=True).stdout.split()
        return src, shas

    def e2e(self):
        folder = self.fresh("e2e")
        pg = os.path.join(folder, "pg")
        url = subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "--fast", "start", pg],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        self.pg = pg
        pushes = self.args.pushes
        src, shas = self.make_repository(folder, pushes + 1)
        marks = os.path.join(folder, "marks")
        os.makedirs(marks)
        deployments = {}
        for name, branch in (("durhack", "main"), ("durhack-staging", "staging")):
            site = os.path.join(folder, name)
            subprocess.run(["git", "clone", "-q", "-b", branch, src, site], check=True)
            deployments[name] = {
                "repository": "ducompsoc/durhack", "branch": branch, "path": site,
                "coalesce": False, "env": {"MARKS": marks},
                "steps": [{"name": "mark", "shell": True,
                           "run": ['date +%s%N > "$MARKS/$DEPLOY_DELIVERY"']}]}
        port = free_port()
        config = {"instance": "bench", "state_dir": "var", "allow_root": True,
                  "listen": {"host": "127.0.0.1", "port": port}, "deployments": deployments}
        config_path = os.path.join(folder, "config.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        env = self.env(DATABASE_URL=url)
        subprocess.run([os.path.join(self.bin, "deployctl"), "--config", config_path, "migrate"],
                       env=env, check=True, capture_output=True)
        logs = open(os.path.join(folder, "programs.log"), "w")
        procs = {}

        def start(key, argv):
            procs[key] = subprocess.Popen(argv, env=env, stdout=logs, stderr=logs)

        start("receiver", [os.path.join(self.bin, "receiver"), "--config", config_path])
        start("router", [os.path.join(self.bin, "router"), "--config", config_path])
        for name in deployments:
            start("deployer " + name, [os.path.join(self.bin, "deployer"), "--config", config_path,
                                       "--deployment", name])
        self.procs = list(procs.values())
        wait_listening(port, procs["receiver"])
        time.sleep(1.0)
        for key, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError("%s exited with %s (see %s)" % (key, proc.returncode, logs.name))
            self.raw["rss"][key] = {"idle_kib": rss_kib(proc.pid)}
        self.raw["together_idle_kib"] = together_kib([p.pid for p in procs.values()])
        active = os.path.join(folder, "var", "active", "durhack")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies = []
        timeouts = 0
        for i in range(pushes):
            body = push_body(after=shas[i + 1], before=shas[i])
            delivery = "e2e-%d" % i
            headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                       "X-GitHub-Delivery": delivery, "X-GitHub-Hook-ID": "123456",
                       "X-Hub-Signature-256": signature(body), "User-Agent": "GitHub-Hookshot/bench"}
            sent = time.time_ns()
            conn.request("POST", "/github-webhook", body, headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 202:
                raise RuntimeError("push %d: status %d" % (i, resp.status))
            mark = os.path.join(marks, delivery)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    with open(mark) as f:
                        text = f.read().strip()
                    if text:
                        latencies.append((int(text) - sent) / 1e6)
                        break
                except FileNotFoundError:
                    pass
                time.sleep(0.0002)
            else:
                timeouts += 1
            # The next push only once this deploy has finished, so each latency is one push's own.
            deadline = time.monotonic() + 20
            while count_entries(active) and time.monotonic() < deadline:
                time.sleep(0.0005)
        conn.close()
        for key, proc in procs.items():
            self.raw["rss"][key]["load_kib"] = rss_kib(proc.pid)
        logs.flush()
        self.raw["e2e_stages"] = stage_breakdown(logs.name)
        self.raw["e2e"] = {"pushes": pushes, "timeouts": timeouts,
                           "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
                           "max_ms": max(latencies) if latencies else None}
        self.log("e2e: p50 %.1f ms p99 %.1f ms over %d" %
                 (self.raw["e2e"]["p50_ms"] or -1, self.raw["e2e"]["p99_ms"] or -1, len(latencies)))

        # 3. backlog: router and deployers stopped, 10,000 entries written, router started.
        for key in ("router", "deployer durhack", "deployer durhack-staging"):
            stop(procs[key])
        inbox = os.path.join(folder, "var", "inbox")
        body = push_body(after=shas[-1], before=shas[-2])
        payload = json.loads(body)
        base = time.time_ns()
        for i in range(self.args.backlog):
            delivery = "backlog-%05d" % i
            entry = {"id": delivery, "event": "push", "received_at": "2026-11-23T04:05:06.000000000Z",
                     "hook_id": "123456", "payload": payload}
            with open(os.path.join(inbox, "%020d-%s.json" % (base + i, delivery)), "w") as f:
                json.dump(entry, f)
        os.sync()
        start("router", [os.path.join(self.bin, "router"), "--config", config_path])
        t0 = time.perf_counter()
        deadline = t0 + 300
        while count_entries(inbox) and time.perf_counter() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        left = count_entries(inbox)
        queued = count_entries(os.path.join(folder, "var", "queues", "durhack"))
        self.raw["backlog"] = {"entries": self.args.backlog, "seconds": elapsed, "left": left,
                               "queued": queued, "per_s": (self.args.backlog - left) / elapsed}
        self.raw["rss"]["router"]["backlog_kib"] = rss_kib(procs["router"].pid)
        self.log("backlog: %d entries in %.2f s, %.0f/s" %
                 (self.args.backlog - left, elapsed, self.raw["backlog"]["per_s"]))

        # 4. the same backlog through the deployer, coalescing on: every push but the newest is
        #    superseded (coalesce.hpp), the newest deployed or found stale.
        config["deployments"]["durhack"]["coalesce"] = True
        with open(config_path, "w") as f:
            json.dump(config, f)
        start("deployer durhack", [os.path.join(self.bin, "deployer"), "--config", config_path,
                                   "--deployment", "durhack"])
        queue = os.path.join(folder, "var", "queues", "durhack")
        t0 = time.perf_counter()
        deadline = t0 + 600
        while (count_entries(queue) or count_entries(active)) and time.perf_counter() < deadline:
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        done = count_entries(os.path.join(folder, "var", "done", "durhack"))
        self.raw["drain"] = {"entries": queued, "seconds": elapsed, "done": done,
                             "left": count_entries(queue) + count_entries(active),
                             "per_s": queued / elapsed if elapsed else None}
        self.log("deployer drain: %d entries in %.2f s, %d in done/ (retention keeps the newest)" %
                 (queued, elapsed, done))
        for proc in procs.values():
            stop(proc)
        logs.close()

    def cleanup(self):
        for proc in self.procs:
            stop(proc)
        if getattr(self, "pg", None):
            subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "stop", self.pg],
                           capture_output=True)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- the report
    def report(self):
        return make_report(self.raw, self.args, self.body_bytes)


STAGES = (("receiver: 202 sent", r"receiver: request .*delivery=(e2e-\d+) .*status=202"),
          ("router: routed", r"router: entry routed delivery=(e2e-\d+) "),
          ("deployer: entry taken", r"deployer: entry taken deployment=durhack .*delivery=(e2e-\d+) "),
          ("deployer: step started", r"deployer: step started deployment=durhack entry=\d+-(e2e-\d+)\.json"))


def stage_breakdown(log_path):
    """Median ms between consecutive stages of each push, from the programs' log lines
    (millisecond timestamps)."""
    seen = {}
    with open(log_path) as f:
        for line in f:
            for i, (_, pattern) in enumerate(STAGES):
                m = re.search(pattern, line)
                if m:
                    stamp = re.match(r"\S+T(\d+):(\d+):(\d+\.\d+)Z", line)
                    if stamp:
                        h, mi, sec = stamp.groups()
                        t = (int(h) * 3600 + int(mi) * 60 + float(sec)) * 1000
                        seen.setdefault(m.group(1), {}).setdefault(i, t)
    out = {}
    with open(log_path) as f:
        handled = [int(m.group(1)) / 1000 for m in
                   (re.search(r"receiver: request .*delivery=e2e-\d+ .*status=202 .* us=(\d+)", line)
                    for line in f) if m]
    out["receiver: request read -> 202 (its us= field)"] = median(handled)
    for i in range(1, len(STAGES)):
        gaps = [v[i] - v[i - 1] for v in seen.values() if i in v and i - 1 in v]
        out["%s -> %s" % (STAGES[i - 1][0], STAGES[i][0])] = median(gaps)
    return out


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return "{:,.{}f}".format(value, digits)


def make_report(raw, args, body_bytes):
    lines = []
    add = lines.append
    load = raw["load"]

    def med(peer, mode, c, key):
        return median([r[key] for r in load if r["peer"] == peer and r["mode"] == mode and r["c"] == c])

    def total(peer, mode, c, key):
        return sum(r[key] for r in load if r["peer"] == peer and r["mode"] == mode and r["c"] == c)

    fsync = {t: median([r["per_s"] for r in raw["fsync"] if r["threads"] == t]) for t in (1, 8, 64)}
    fsync_best = max([v for v in fsync.values() if v is not None] or [0]) or None
    add("## Load: %d-byte signed push, unique delivery ids, wrk, medians of %d interleaved rounds"
        % (body_bytes, args.rounds))
    add("")
    add("| server | mode | conns | req/s | p50 ms | p99 ms | p99.9 ms | 2xx | non-2xx | files at end | acked but missing at end | files 60 s later |")
    add("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for peer, mode in (("receiver", "durable"), ("receiver", "baseline"), ("receiver", "threads"),
                       ("webhook", "wait"), ("webhook", "default")):
        if not any(r["peer"] == peer and r["mode"] == mode for r in load):
            continue
        for c in (1, 8, 64):
            later = "" if peer == "receiver" else fmt(total(peer, mode, c, "files_later"))
            add("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                peer if peer == "receiver" else "adnanh/webhook", mode, c,
                fmt(med(peer, mode, c, "rps")), fmt(med(peer, mode, c, "p50_ms"), 2),
                fmt(med(peer, mode, c, "p99_ms"), 2), fmt(med(peer, mode, c, "p999_ms"), 2),
                fmt(total(peer, mode, c, "ok")), fmt(total(peer, mode, c, "non2xx")),
                fmt(total(peer, mode, c, "files")), fmt(total(peer, mode, c, "missing")),
                later or "-"))
    add("")
    add("2xx, non-2xx, files and missing are totals over the rounds; \"files at end\" is counted the")
    add("moment wrk finishes (what a crash at that instant keeps).")
    add("")
    add("## The disk: durable publish (create, write 8 KB, fsync, rename, fsync folder), one folder")
    add("")
    add("| threads | publishes/s (median) |")
    add("|---:|---:|")
    for t in (1, 8, 64):
        add("| %d | %s |" % (t, fmt(fsync[t])))
    add("")
    add("## Ratios (same run)")
    add("")
    add("| comparison | value | target |")
    add("|---|---:|---|")
    for c in (1, 8, 64):
        r = med("receiver", "durable", c, "rps")
        w = med("webhook", "wait", c, "rps")
        if not w:
            continue
        add("| receiver / webhook waiting mode, req/s, c=%d | %sx | >= 10x |"
            % (c, fmt(r / w if r and w else None, 1)))
    for c in (1, 8, 64):
        r = med("receiver", "durable", c, "rps")
        w = med("webhook", "default", c, "rps")
        if not w:
            continue
        add("| receiver / webhook default (not durable) mode, req/s, c=%d | %sx | - |"
            % (c, fmt(r / w if r and w else None, 2)))
    for c in (1, 8, 64):
        r = med("receiver", "durable", c, "rps")
        b = med("receiver", "baseline", c, "rps")
        if b:
            add("| receiver / baseline receiver (--baseline-receiver), req/s, c=%d | %sx | - |"
                % (c, fmt(r / b if r else None, 2)))
        v = med("receiver", "threads", c, "rps")
        if v:
            add("| receiver with publish_threads %d / default, req/s, c=%d | %sx | - |"
                % (args.variant_threads, c, fmt(v / r if r else None, 2)))
    r64 = med("receiver", "durable", 64, "rps")
    add("| receiver c=64 / disk limit (best of 8 and 64 threads) | %s%% | >= 90%% |"
        % fmt(100 * r64 / fsync_best if r64 and fsync_best else None))
    r1 = med("receiver", "durable", 1, "rps")
    add("| receiver c=1 / disk limit, 1 thread | %s%% | - |"
        % fmt(100 * r1 / fsync[1] if r1 and fsync[1] else None))
    add("| receiver p99 at c=8 | %s ms | <= 5 ms |" % fmt(med("receiver", "durable", 8, "p99_ms"), 2))
    add("| receiver acknowledged but missing (all runs) | %s | 0 |"
        % fmt(sum(r["missing"] for r in load if r["peer"] == "receiver" and r["mode"] == "durable")))
    add("| webhook waiting mode acknowledged but missing | %s | - |"
        % fmt(sum(r["missing"] for r in load if r["mode"] == "wait")))
    add("| webhook default mode acknowledged but missing at end | %s | - |"
        % fmt(sum(r["missing"] for r in load if r["mode"] == "default")))
    e2e = raw["e2e"]
    if e2e:
        add("| POST -> first step, p50 (%d pushes) | %s ms | <= 10 ms |" % (e2e["pushes"], fmt(e2e["p50_ms"], 1)))
        add("| POST -> first step, p99 | %s ms | - |" % fmt(e2e["p99_ms"], 1))
    b = raw["backlog"]
    if b:
        add("| router drain of a %s-entry backlog, ledger on | %s entries/s | >= 2,000 |"
            % (fmt(b["entries"]), fmt(b["per_s"])))
    rss = raw["rss"]
    keys = ("receiver", "router", "deployer durhack", "deployer durhack-staging")
    if all(k in rss for k in keys):
        idle = sum(rss[k]["idle_kib"] for k in keys)
        together = raw.get("together_idle_kib")
        add("| idle RSS receiver + router + 2 deployers, together (each resident page once) | %s MiB | <= 20 MiB |"
            % fmt(together / 1024 if together else None, 1))
        add("| idle RSS receiver + router + 2 deployers, summed per process (shared pages counted in each) | %s MiB | - |"
            % fmt(idle / 1024, 1))
    d = raw.get("drain")
    if d:
        add("| deployer drain of that backlog, coalescing (all but the newest superseded) | %s entries/s | - |"
            % fmt(d["per_s"]))
    add("")
    add("## Footprint")
    add("")
    add("| process | RSS idle | RSS after load |")
    add("|---|---:|---:|")
    for k in keys:
        if k in rss:
            after = rss[k].get("load_kib")
            if k == "router" and "backlog_kib" in rss[k]:
                after = rss[k]["backlog_kib"]
            add("| %s | %s MiB | %s MiB |" % (k, fmt(rss[k]["idle_kib"] / 1024, 1),
                                             fmt(after / 1024 if after else None, 1)))
    for peer, mode in (("receiver", "durable"), ("webhook", "wait"), ("webhook", "default")):
        if not any(r["peer"] == peer and r["mode"] == mode for r in load):
            continue
        idle = median([r["rss_idle_kib"] for r in load if r["peer"] == peer and r["mode"] == mode])
        after = median([r["rss_load_kib"] for r in load if r["peer"] == peer and r["mode"] == mode and r["c"] == 64])
        add("| %s %s (load runs, after c=64) | %s MiB | %s MiB |" % (
            peer, mode, fmt(idle / 1024 if idle else None, 1), fmt(after / 1024 if after else None, 1)))
    add("")
    add("(The router's \"after load\" is after the backlog drain; deployers' after the %d pushes.)"
        % (e2e.get("pushes", 0) if e2e else 0))
    add("")
    add("## Start-up (median of 20 runs, ms)")
    add("")
    add("| what | ms | target |")
    add("|---|---:|---|")
    for k, v in raw["startup"].items():
        add("| %s | %s | <= 50 |" % (k, fmt(v, 1)))
    rstart = median([r["start_ms"] for r in load if r["peer"] == "receiver" and r["mode"] == "durable"])
    wstart = median([r["start_ms"] for r in load if r["peer"] == "webhook"])
    add("| receiver exec -> accepting TCP (median of load runs) | %s | <= 50 |" % fmt(rstart, 1))
    add("| webhook exec -> accepting TCP (median of load runs) | %s | - |" % fmt(wstart, 1))
    if e2e:
        add("")
        add("## End to end")
        add("")
        add("%d pushes one at a time (the next once the previous deploy has left active/), POST sent"
            " -> the `mark` step's `date +%%s%%N`: p50 %s ms, p99 %s ms, max %s ms, %d not started"
            " within 20 s." % (e2e["pushes"], fmt(e2e["p50_ms"], 1), fmt(e2e["p99_ms"], 1),
                               fmt(e2e["max_ms"], 1), e2e["timeouts"]))
        stages = raw.get("e2e_stages") or {}
        if stages:
            add("")
            add("Where the time goes (medians, from the programs' log lines, 1 ms resolution):")
            add("")
            add("| stage | ms |")
            add("|---|---:|")
            for k, v in stages.items():
                add("| %s | %s |" % (k, fmt(v, 1)))
    if b:
        add("")
        add("Backlog: %s entries routed in %.2f s (%s left in inbox, %s in queues/durhack)."
            % (fmt(b["entries"] - b["left"]), b["seconds"], fmt(b["left"]), fmt(b["queued"])))
    if d:
        add("")
        add("Deployer drain: the durhack deployer started on those %s queued pushes with coalescing on"
            " emptied its queue in %.2f s (%s left)." % (fmt(d["entries"]), d["seconds"], fmt(d["left"])))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=10000)
    parser.add_argument("--out", default=os.path.join(HERE, "results.md"))
    parser.add_argument("--only", choices=("load", "e2e", "startup", "deploys"), action="append")
    parser.add_argument("--deploys", type=int, default=30, help="good pushes per mode (deploys)")
    parser.add_argument("--rollbacks", type=int, default=5, help="rollbacks per mode (deploys)")
    parser.add_argument("--baseline-receiver", metavar="BIN",
                        help="another receiver binary (e.g. before a change) run interleaved as 'baseline'")
    parser.add_argument("--variant-threads", type=int, metavar="N",
                        help="also run the receiver with receiver.publish_threads N, as 'threads'")
    parser.add_argument("--receivers-only", action="store_true",
                        help="load section without adnanh/webhook (quick A/B of receivers)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    only = set(args.only or ("load", "e2e", "startup", "deploys"))
    bench = Bench(args)
    started = time.time()
    try:
        if "startup" in only:
            bench.startup()
        if "load" in only:
            bench.load()
        if "e2e" in only:
            bench.e2e()
        deploys_text = ""
        if "deploys" in only:
            import deploys
            deploys_text, bench.raw["deploys"] = deploys.run(args.build, args.deploys, args.rollbacks,
                                                             keep=args.keep)
        # The report first: removing the work folder (~100,000 files) takes minutes.
        header = ("# Benchmark results\n\n%s, `%s`, %.0f s, %s\n\n"
                  % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                     " ".join(["bench/run.sh"] + sys.argv[1:]), time.time() - started,
                     os.uname().nodename))
        text = header + (bench.report() if only != {"deploys"} else "") + deploys_text
        with open(args.out, "w") as f:
            f.write(text)
        print(text, flush=True)
    finally:
        with open(os.path.join(bench.work, "raw.json"), "w") as f:
            json.dump(bench.raw, f, indent=1)
        if args.keep:
            bench.log("work folder kept:", bench.work)
        bench.cleanup()


if __name__ == "__main__":
    main()
