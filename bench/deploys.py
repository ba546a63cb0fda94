#!/usr/bin/env python3
"""deploys.py: deploys under load, release mode against in place (issue 13; docs/performance.md).

    bench/deploys.py --build BUILD_DIR [--deploys 30] [--rollbacks 5] [--rate 100] [--keep]
    bench/bench.py --only deploys ...      (the same, as a section of the whole benchmark)

The demo app (demo/app/: Node.js, no dependencies, PM2 cluster mode with 2 workers, wait_ready,
a graceful SIGINT, /up with its commit) is deployed twice side by side from one local origin, by
the real receiver, router and two deployers with a real PostgreSQL ledger (scripts/pg.sh --fast):

  release  release mode (docs/releases.md): build in a new release folder, preflight, switch
           `current`, `pm2 startOrReload --update-env`, health check expecting the new commit
  inplace  the seed's way (its example configuration): checkout in the working tree, install,
           build, `pm2 delete ecosystem.config.js`, `pm2 restart ecosystem.config.js`

Both run the same steps (install only when package-lock.json changed, then build.sh), each app
under constant load from demo/load-client.js (--rate requests/s, a fresh connection each, 5 s
timeout), which records every failed request and every change of the version that answers.
Per mode, interleaved commit by commit: --deploys good pushes (each a signed webhook through the
receiver; the next once the previous is deployed and served), a commit whose app exits at start,
a commit whose build fails, then --rollbacks switches between the last good commit and the one
before it (release: `deployctl rollback`, then `rollback --to` the other; in place: a replay of
that commit with `deployctl enqueue`, as the seed rolls back). Times are from the push (or the
command) to the first answer of the expected version, read from the load client's record.
Traffic goes to 127.0.0.1 only; every wait is bounded. Prints a markdown section; raw figures go
to WORK/deploys.json.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import bench  # the helpers of the whole benchmark: push_body, signature, percentile, ...

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PM2 = os.path.join(ROOT, "pm2", "node_modules", ".bin", "pm2")
APP_FILES = ("server.js", "ecosystem.config.js", "build.sh", "package.json", "package-lock.json",
             ".gitignore")
MODES = ("release", "inplace")
BRANCH = {"release": "main", "inplace": "inplace"}

# The release mode's steps, preflight and health check of the demo app (bench/rollout.py uses them
# too): install only when package-lock.json changed, build.sh, `pm2 startOrReload`, /up expecting
# the new commit.
INSTALL = {"name": "install", "run": ["npm", "ci", "--no-audit", "--no-fund"],
           "only_if_changed": ["package-lock.json"], "timeout_s": 300}
BUILD = {"name": "build", "run": ["sh", "build.sh"], "timeout_s": 60}
RELOAD = {"name": "reload", "run": [PM2, "startOrReload", "ecosystem.config.js", "--update-env"],
          "timeout_s": 120}
PREFLIGHT = {"run": ["node", "server.js"], "port_env": "PORT", "path": "/up", "timeout_s": 20,
             "interval_ms": 100}


def health_check(url, timeout_s=30):
    return {"url": url, "expect_status": 200, "expect_body": "${DEPLOY_SHA}", "timeout_s": timeout_s,
            "interval_ms": 100, "successes": 2}


def log(*what):
    print("deploys:", *what, file=sys.stderr, flush=True)


class Deploys:
    def __init__(self, build, work, deploys, rollbacks, rate, modes=MODES):
        self.modes = modes
        self.bin = os.path.join(os.path.abspath(build), "bin")
        self.work = work
        self.deploys = deploys
        self.rollbacks = rollbacks
        self.rate = rate
        self.procs = {}
        self.loads = {}
        self.pg = None
        self.app_pm2 = os.path.join(work, "app-pm2")
        self.raw = {"deploys": deploys, "rollbacks": rollbacks, "rate": rate,
                    "modes": {m: {"pushes": [], "phases": {}, "rollbacks": []} for m in modes}}
        self.commits = 0

    # -- git: one origin; each commit is pushed to main (release) and inplace
    def git(self, *args, cwd=None):
        env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
                   GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")
        return subprocess.run(["git", *args], cwd=cwd or self.author, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def commit(self, message, breakage=None):
        for name in APP_FILES:
            shutil.copy2(os.path.join(ROOT, "demo", "app", name), os.path.join(self.author, name))
        server = os.path.join(self.author, "server.js")
        with open(server) as f:
            text = f.read()
        if breakage == "crash":
            text = "process.exit(1); // this release exits at start\n" + text
        elif breakage == "build":
            text += "\nfunction broken( {\n"
        elif callable(breakage):
            text = breakage(text)
        with open(server, "w") as f:
            f.write(text)
        self.commits += 1
        with open(os.path.join(self.author, "CHANGES"), "a") as f:
            f.write("%d %s\n" % (self.commits, message))
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "HEAD:main", "HEAD:inplace")
        return self.git("rev-parse", "HEAD")

    def make_origin(self):
        """The bare origin and the author's clone with the first commit (self.shas); its path."""
        origin = os.path.join(self.work, "origin.git")
        self.author = os.path.join(self.work, "author")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", origin], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", self.author], check=True)
        self.git("remote", "add", "origin", origin)
        self.shas = [self.commit("first")]
        return origin

    # -- the pipeline
    def setup(self):
        self.pg = os.path.join(self.work, "pg")
        url = subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "--fast", "start", self.pg],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        origin = self.make_origin()
        sites = os.path.join(self.work, "sites")
        os.makedirs(sites)
        inplace = os.path.join(sites, "inplace")
        subprocess.run(["git", "clone", "-q", "-b", "inplace", origin, inplace], check=True)
        self.ports = {m: bench.free_port() for m in MODES}
        common = {"repository": "ducompsoc/durhack", "coalesce": False}  # as bench.push_body says
        install, build, reload = INSTALL, BUILD, RELOAD
        # The seed's example configuration: delete the ecosystem's apps, then start them again.
        delete = {"name": "pm2-delete", "shell": True, "env": {"PM2_BIN": PM2},
                  "run": ['"$PM2_BIN" delete ecosystem.config.js || true'], "timeout_s": 120}
        restart = {"name": "pm2-restart", "run": [PM2, "restart", "ecosystem.config.js", "--update-env"],
                   "timeout_s": 120}

        def env(mode):
            return {"PORT": str(self.ports[mode]), "PM2_HOME": self.app_pm2, "APP_NAME": "demo-" + mode}

        deployments = {
            "release": dict(common, branch="main", path=os.path.join(sites, "release"), remote=origin,
                            env=env("release"), releases={"keep": 5},
                            steps=[install, build],
                            preflight=PREFLIGHT, activate=[reload],
                            health_check=health_check("http://127.0.0.1:%d/up" % self.ports["release"])),
            "inplace": dict(common, branch="inplace", path=inplace, env=env("inplace"),
                            steps=[install, build, delete, restart]),
        }
        deployments = {k: v for k, v in deployments.items() if k in self.modes}
        self.port = bench.free_port()
        self.config = os.path.join(self.work, "config.json")
        with open(self.config, "w") as f:
            json.dump({"instance": "bench-deploys", "state_dir": os.path.join(self.work, "var"),
                       "allow_root": True, "listen": {"host": "127.0.0.1", "port": self.port},
                       "deployments": deployments}, f, indent=2)
        self.env = dict(os.environ, WEBHOOK_SECRET=bench.SECRET, DATABASE_URL=url, DEPLOY_ALLOW_ROOT="1")
        self.deployctl("migrate")
        # The apps' PM2 daemon runs before any deploy: steps only talk to it.
        subprocess.run([PM2, "ping"], env=dict(os.environ, PM2_HOME=self.app_pm2), check=True,
                       capture_output=True)
        self.programs_log = open(os.path.join(self.work, "programs.log"), "w")
        programs = [("receiver", ["receiver"]), ("router", ["router"])]
        programs += [("deployer " + m, ["deployer", "--deployment", m]) for m in self.modes]
        for key, argv in programs:
            self.procs[key] = subprocess.Popen(
                [os.path.join(self.bin, argv[0]), "--config", self.config, *argv[1:]],
                env=self.env, stdout=self.programs_log, stderr=self.programs_log)
        bench.wait_listening(self.port, self.procs["receiver"])

    def deployctl(self, *args, timeout=300):
        return subprocess.run([os.path.join(self.bin, "deployctl"), "--config", self.config, *args],
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def push(self, mode, sha, before):
        body = bench.push_body(after=sha, before=before, ref="refs/heads/" + BRANCH[mode])
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                   "X-GitHub-Delivery": "deploys-%s-%s" % (mode, sha[:12]), "X-GitHub-Hook-ID": "1",
                   "X-Hub-Signature-256": bench.signature(body), "User-Agent": "GitHub-Hookshot/bench"}
        conn.request("POST", "/github-webhook", body, headers)
        resp = conn.getresponse()
        answer = resp.read()
        conn.close()
        if resp.status != 202:
            raise RuntimeError("push to %s: %d %s" % (mode, resp.status, answer))
        return json.loads(answer)["entry"]

    def outcome(self, mode, entry, timeout=180):
        """'done' or 'failed' once the entry has left active/ (bounded)."""
        var = os.path.join(self.work, "var")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for key, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError("%s exited with %s (see %s)" % (key, proc.returncode,
                                                                     self.programs_log.name))
            active = os.path.exists(os.path.join(var, "active", mode, entry))
            queued = os.path.exists(os.path.join(var, "queues", mode, entry))
            if not active and not queued:
                for where in ("done", "failed"):
                    if os.path.exists(os.path.join(var, where, mode, entry)):
                        return where
            time.sleep(0.02)
        raise RuntimeError("%s: %s not finished after %d s (see %s)" % (mode, entry, timeout,
                                                                         self.programs_log.name))

    # -- the load clients and what they saw
    def start_loads(self):
        for mode in self.modes:
            events = os.path.join(self.work, "load-%s.jsonl" % mode)
            out = open(os.path.join(self.work, "load-%s.out" % mode), "w")
            self.loads[mode] = {
                "events": events, "out": out.name,
                "proc": subprocess.Popen(["node", os.path.join(ROOT, "demo", "load-client.js"),
                                          "--url", "http://127.0.0.1:%d/up" % self.ports[mode],
                                          "--rate", str(self.rate), "--max-s", "3600",
                                          "--events", events], stdout=out, stderr=out)}

    def events(self, mode):
        try:
            with open(self.loads[mode]["events"]) as f:
                return [json.loads(line) for line in f if line.endswith("\n")]
        except FileNotFoundError:  # nothing recorded yet
            return []

    def first_seen(self, mode, version, since_ms, timeout=60):
        """ms of the first answer of `version` at or after since_ms (waits for it, bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events(mode):
                if e["t"] >= since_ms and e.get("version") == version:
                    return e["t"]
            time.sleep(0.05)
        return None

    def last_other(self, mode, version, since_ms, until_ms):
        """ms of the last answer of another version between since_ms and until_ms."""
        last = None
        current = None
        for e in self.events(mode):
            if "version" in e:
                current = e["version"]
                if since_ms <= e["t"] <= until_ms and current != version:
                    last = e["t"]
        return last

    def failures(self, mode, start_ms, end_ms):
        return sum(1 for e in self.events(mode) if "error" in e and start_ms <= e["t"] < end_ms)

    # -- the run
    def serve(self, mode, sha):
        """Waits until the load client has seen `sha` answer (after the first deploy)."""
        if self.first_seen(mode, sha, 0, timeout=60) is None:
            raise RuntimeError("%s never served %s" % (mode, sha))

    def one_push(self, mode, sha, before, expect_served=True):
        t0 = time.time() * 1000
        entry = self.push(mode, sha, before)
        outcome = self.outcome(mode, entry)
        t_done = time.time() * 1000
        first = self.first_seen(mode, sha, t0, timeout=30 if expect_served else 0)
        record = {"sha": sha, "outcome": outcome, "pushed_ms": t0, "done_s": (t_done - t0) / 1000,
                  "served_s": (first - t0) / 1000 if first else None}
        if first:
            # Only the new version once no other one has answered for 2 s.
            time.sleep(max(0.0, 2.0 - (time.time() * 1000 - first) / 1000))
            last = self.last_other(mode, sha, first, time.time() * 1000)
            record["only_new_s"] = ((last if last else first) - t0) / 1000
        return record

    def run(self):
        self.setup()
        for mode in self.modes:
            entry = self.push(mode, self.shas[0], "0" * 40)
            if self.outcome(mode, entry) != "done":
                raise RuntimeError("%s: the first deploy failed (see %s)" % (mode, self.programs_log.name))
        self.start_loads()
        for mode in self.modes:
            self.serve(mode, self.shas[0])
        time.sleep(1.0)
        phase_start = {m: time.time() * 1000 for m in self.modes}

        def end_phase(name):
            now = time.time() * 1000
            for m in self.modes:
                self.raw["modes"][m]["phases"][name] = {"failed": self.failures(m, phase_start[m], now)}
                phase_start[m] = now

        for i in range(1, self.deploys + 1):
            sha = self.commit("release %d" % i)
            for mode in self.modes:
                record = self.one_push(mode, sha, self.shas[-1])
                self.raw["modes"][mode]["pushes"].append(record)
                log("%s push %d: %s, served after %s s, deploy %.2f s" %
                    (mode, i, record["outcome"], record["served_s"], record["done_s"]))
            self.shas.append(sha)
        end_phase("deploys")

        for name, breakage in (("crash", "crash"), ("build", "build")):
            before = self.shas[-1]
            sha = self.commit("broken: " + name, breakage)
            for mode in self.modes:
                t0 = time.time() * 1000
                entry = self.push(mode, sha, before)
                outcome = self.outcome(mode, entry)
                time.sleep(3.0)  # what answers a moment later
                self.raw["modes"][mode]["phases"][name + "_commit"] = {
                    "outcome": outcome, "seconds": (time.time() * 1000 - t0) / 1000 - 3.0,
                    "answers_after": self.answering(mode)}
                log("%s %s commit: %s" % (mode, name, outcome))
            end_phase(name)

        # Rollbacks: to the release before the last good one, then back to it, alternately.
        targets = [self.shas[-2], self.shas[-1]] * self.rollbacks
        for k, target in enumerate(targets[:self.rollbacks]):
            for mode in self.modes:
                t0 = time.time() * 1000
                if mode == "release":
                    args = ["rollback", "release", "--wait"] if k == 0 else \
                        ["rollback", "release", "--to", target, "--wait"]
                    result = self.deployctl(*args)
                    ok = result.returncode == 0
                else:
                    result = self.deployctl("enqueue", "inplace", "--sha", target)
                    ok = result.returncode == 0 and \
                        self.outcome("inplace", result.stdout.strip().splitlines()[-1]) == "done"
                first = self.first_seen(mode, target, t0, timeout=60)
                self.raw["modes"][mode]["rollbacks"].append(
                    {"to": target, "ok": ok, "output": (result.stdout + result.stderr)[-400:],
                     "answered_s": (first - t0) / 1000 if first else None})
                log("%s rollback %d to %s: %s, answered after %s s" %
                    (mode, k, target[:12], "ok" if ok else "FAILED",
                     (first - t0) / 1000 if first else None))
                time.sleep(2.0)
        end_phase("rollback")

        for mode in self.modes:
            proc = self.loads[mode]["proc"]
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
            with open(self.loads[mode]["out"]) as f:
                self.raw["modes"][mode]["load"] = json.loads(f.read().strip().splitlines()[-1])

    def answering(self, mode):
        """The version /up answers now (or what went wrong)."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.ports[mode], timeout=5)
            conn.request("GET", "/up")
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            if resp.status != 200:
                return "HTTP %d" % resp.status
            version = json.loads(body).get("version", "?")
            if version in self.shas:
                return "commit %d" % self.shas.index(version)
            return version[:12]
        except OSError as e:
            return "nothing (%s)" % (e.strerror or type(e).__name__)

    def cleanup(self):
        for load in self.loads.values():
            if load["proc"].poll() is None:
                load["proc"].kill()
                load["proc"].wait()
        for proc in self.procs.values():
            bench.stop(proc)
        subprocess.run([PM2, "kill"], env=dict(os.environ, PM2_HOME=self.app_pm2), capture_output=True)
        if self.pg:
            subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "stop", self.pg], capture_output=True)


def fmt_s(value):
    return "-" if value is None else "%.2f s" % value


def report(raw):
    """The markdown section of docs/performance.md."""
    lines = []
    add = lines.append
    add("### Deploys under load: release mode against in place")
    add("")
    add("The demo app in PM2 cluster mode (2 workers), %d req/s of fresh connections per app, a request"
        " failing on refusal, reset, non-2xx or 5 s without an answer. %d pushes, a commit whose app"
        " exits at start, a commit whose build fails, %d rollbacks; the two modes interleaved commit by"
        " commit." % (raw["rate"], raw["deploys"], raw["rollbacks"]))
    add("")
    titles = {"release": "release mode",
              "inplace": "in place (checkout, install, build, `pm2 delete` + `pm2 restart`)"}
    add("| | %s |" % " | ".join(titles[m] for m in raw["modes"]))
    add("|---|" + "---:|" * len(raw["modes"]))
    modes = [raw["modes"][m] for m in raw["modes"]]

    def row(label, values):
        add("| %s | %s |" % (label, " | ".join(values)))

    row("requests sent", ["{:,}".format(m.get("load", {}).get("requests", 0)) for m in modes])
    row("failed requests during the %d deploys" % raw["deploys"],
        ["{:,}".format(m["phases"].get("deploys", {}).get("failed", 0)) for m in modes])
    row("failed requests, commit whose app exits at start",
        ["{:,}".format(m["phases"].get("crash", {}).get("failed", 0)) for m in modes])
    row("failed requests, commit whose build fails",
        ["{:,}".format(m["phases"].get("build", {}).get("failed", 0)) for m in modes])
    row("failed requests during the rollbacks",
        ["{:,}".format(m["phases"].get("rollback", {}).get("failed", 0)) for m in modes])

    def total(m):
        load = m.get("load", {})
        return "{:,} (refused {:,}, reset {:,}, timeout {:,}, non-2xx {:,})".format(
            load.get("failed", 0), load.get("refused", 0), load.get("reset", 0),
            load.get("timeout", 0), load.get("non2xx", 0))
    row("failed requests in all", [total(m) for m in modes])

    def pct(m, key, p):
        values = [r[key] for r in m["pushes"] if r.get(key) is not None]
        return bench.percentile(values, p)

    for key, label in (("served_s", "push -> new version answers"),
                       ("only_new_s", "push -> only the new version answers"),
                       ("done_s", "push -> deploy recorded")):
        row(label + ", p50 / p95",
            ["%s / %s" % (fmt_s(pct(m, key, 50)), fmt_s(pct(m, key, 95))) for m in modes])
    row("pushes deployed / not served within 30 s",
        ["%d / %d" % (sum(r["outcome"] == "done" for r in m["pushes"]),
                      sum(r["served_s"] is None for r in m["pushes"])) for m in modes])
    for name, label in (("crash_commit", "commit whose app exits at start"),
                        ("build_commit", "commit whose build fails")):
        row(label + ": outcome; answering 3 s later",
            ["%s; %s" % (m["phases"].get(name, {}).get("outcome", "-"),
                         m["phases"].get(name, {}).get("answers_after", "-")) for m in modes])
    row("rollback -> previous version answers, p50 / max",
        ["%s / %s" % (fmt_s(bench.percentile([r["answered_s"] for r in m["rollbacks"]
                                              if r["answered_s"] is not None], 50)),
                      fmt_s(max([r["answered_s"] for r in m["rollbacks"] if r["answered_s"] is not None],
                                default=None)))
         for m in modes])
    row("rollbacks that failed or were never answered",
        [str(sum((not r["ok"]) or r["answered_s"] is None for r in m["rollbacks"])) for m in modes])
    add("")
    add("Rollback: release mode runs `deployctl rollback release --wait` (then `--to` the other"
        " release, alternately; no rebuild); in place replays the commit with `deployctl enqueue`"
        " (checkout, build, `pm2 delete` + `pm2 restart`), the seed's way.")
    return "\n".join(lines) + "\n"


def run(build, deploys=30, rollbacks=5, rate=100, keep=False, modes=MODES):
    """Runs the whole section; returns (markdown, raw)."""
    work = tempfile.mkdtemp(prefix="deploy-bench-deploys.")
    os.chmod(work, 0o755)  # scripts/pg.sh runs the server as postgres: it must enter
    d = Deploys(build, work, deploys, rollbacks, rate, modes)
    try:
        d.run()
        return report(d.raw), d.raw
    finally:
        with open(os.path.join(work, "deploys.json"), "w") as f:
            json.dump(d.raw, f, indent=1)
        d.cleanup()
        if keep:
            log("work folder kept:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    # SIGTERM ends the run through the `finally` that stops everything it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--deploys", type=int, default=30)
    parser.add_argument("--rollbacks", type=int, default=5)
    parser.add_argument("--rate", type=int, default=100, help="requests/s per app")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated subset of %s" % ",".join(MODES))
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    modes = tuple(m for m in MODES if m in args.modes.split(","))
    if not modes:
        parser.error("--modes: none of %s" % ",".join(MODES))
    started = time.time()
    text, _ = run(args.build, args.deploys, args.rollbacks, args.rate, args.keep, modes)
    print("%s, `%s`, %.0f s\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                                  " ".join(["bench/deploys.py"] + sys.argv[1:]), time.time() - started))
    print(text, flush=True)


if __name__ == "__main__":
    main()
