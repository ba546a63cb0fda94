#!/usr/bin/env python3
"""rollout.py: rolling deploys on simulated hosts under load (issue 19; docs/hosts.md).

    bench/rollout.py --build BUILD_DIR [--hosts 3] [--deploys 10] [--parallel 1,3] [--rate 50]
                     [--keep]

For each value of --parallel (the deployment's rollout.max_parallel), a fresh run: a throwaway
durable PostgreSQL (scripts/pg.sh), one local git origin of the demo app (demo/app/) and --hosts
simulated hosts on this machine, all described by one configuration file (state_dir and path
hold ${DEPLOY_HOST}; each host's own app port, app name and PM2_HOME through hosts[i].env, and
${PORT} in health_check.url). Each host runs its own receiver, router and deployer (the real
programs, each with --host) and its own PM2 daemon serving the demo app in release mode (the
steps, preflight and health check of bench/deploys.py), under constant load from
demo/load-client.js (--rate requests/s of fresh connections per host, each failure recorded).

Then: --deploys good pushes (signed webhooks, sent to the hosts' receivers in turn, as a load
balancer would; the next once every host has finished the previous one and serves it), then one
bad commit whose /up on the second host does not report the new commit (its port is the second
host's), so its health check fails there and nowhere else. Reported per run: failed requests per
host, rollout time (push -> every host live, from the ledger's rollout_hosts.live_at; and push ->
every host's load client sees the new commit), the most hosts switching at one instant (from
rollout_hosts' switch_started_at .. live_at/ended_at), the bad commit's rollout and what each
host answers 3 s later, and the fan-out latency (fanout_items.created_at -> the target host's
router logging the entry queued, bench/fanout.py's measure). Traffic goes to 127.0.0.1 only; every
wait is bounded. Needs psql. Prints a markdown section; raw figures go to WORK/rollout.json.
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

import bench  # push_body, signature, free_port, percentile, stop
import deploys  # the demo app's origin and commits, its release-mode steps, the load clients
import fanout  # receiver_port, fanout_latencies

ROOT = deploys.ROOT
PM2 = deploys.PM2
DEPLOYMENT = "app"
UNFINISHED = ("building", "switching")


def log(*what):
    print("rollout:", *what, file=sys.stderr, flush=True)


def max_at_once(intervals):
    """The most intervals (start, end) open at one instant."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                   key=lambda edge: (edge[0], edge[1]))  # an end before a start at the same time
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


class Rollout(deploys.Deploys):
    """One run: the fleet of simulated hosts, each load client keyed by its host."""

    def __init__(self, build, work, hosts, deploy_count, rate, max_parallel):
        super().__init__(build, work, deploy_count, 0, rate, modes=tuple(hosts))
        self.hosts = list(hosts)
        self.max_parallel = max_parallel
        self.receivers = {}
        self.pm2_homes = {h: os.path.join(work, "pm2-" + h) for h in hosts}
        self.app_pm2 = self.pm2_homes[hosts[0]]  # Deploys.cleanup kills this one
        self.raw = {"max_parallel": max_parallel, "hosts": self.hosts, "rate": rate,
                    "deploys": [], "bad": None, "failed": {}, "load": {}}

    def log_file(self, host, program):
        return os.path.join(self.work, "%s-%s.log" % (host, program))

    def setup(self):
        self.pg = os.path.join(self.work, "pg")
        # Durable settings, as bench/fanout.py: the fan-out latency includes PostgreSQL's commit.
        self.url = subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "start", self.pg],
                                  check=True, capture_output=True, text=True
                                  ).stdout.strip().splitlines()[-1]
        origin = self.make_origin()
        self.ports = {h: bench.free_port() for h in self.hosts}
        hosts = [{"name": h, "env": {"PORT": str(self.ports[h]), "APP_NAME": "demo-" + h,
                                     "PM2_HOME": self.pm2_homes[h]}} for h in self.hosts]
        deployment = {
            "repository": "ducompsoc/durhack", "branch": "main",  # as bench.push_body says
            "coalesce": False, "remote": origin,
            "path": os.path.join(self.work, "sites", "${DEPLOY_HOST}"),
            "releases": {"keep": 5}, "steps": [deploys.INSTALL, deploys.BUILD],
            "preflight": deploys.PREFLIGHT, "activate": [deploys.RELOAD],
            "health_check": deploys.health_check("http://127.0.0.1:${PORT}/up", timeout_s=10),
            "hosts": hosts,
            "rollout": {"max_parallel": self.max_parallel, "host_timeout_s": 120,
                        "on_host_down": "wait"},
        }
        self.config = os.path.join(self.work, "fleet.json")
        with open(self.config, "w") as f:
            json.dump({"instance": "bench-rollout", "allow_root": True,
                       "state_dir": os.path.join(self.work, "var", "${DEPLOY_HOST}"),
                       "listen": {"host": "127.0.0.1", "port": 0},
                       "router": {"rescan_s": 30},
                       "deployments": {DEPLOYMENT: deployment}}, f, indent=2)
        self.env = dict(os.environ, WEBHOOK_SECRET=bench.SECRET, DATABASE_URL=self.url,
                        DEPLOY_ALLOW_ROOT="1", GITHUB_TOKEN="")
        migrated = self.deployctl("migrate")
        if migrated.returncode != 0:
            raise RuntimeError("deployctl migrate: " + migrated.stdout + migrated.stderr)
        for host in self.hosts:
            # Each host's PM2 daemon runs before any deploy: the activate step only talks to it.
            subprocess.run([PM2, "ping"], env=dict(os.environ, PM2_HOME=self.pm2_homes[host]),
                           check=True, capture_output=True)
        for host in self.hosts:
            for program, extra in (("receiver", []), ("router", []),
                                   ("deployer", ["--deployment", DEPLOYMENT])):
                out = open(self.log_file(host, program), "ab")
                self.procs["%s %s" % (host, program)] = subprocess.Popen(
                    [os.path.join(self.bin, program), "--config", self.config, "--host", host, *extra],
                    env=self.env, stdout=out, stderr=out)
            self.receivers[host] = fanout.receiver_port(self.log_file(host, "receiver"),
                                                        self.procs[host + " receiver"])

    def push(self, host, sha, before):
        """POSTs a signed push of `sha` to `host`'s receiver; the entry's name."""
        body = bench.push_body(after=sha, before=before)
        conn = http.client.HTTPConnection("127.0.0.1", self.receivers[host], timeout=10)
        conn.request("POST", "/github-webhook", body, {
            "Content-Type": "application/json", "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "rollout-%d-%s" % (self.max_parallel, sha[:12]),
            "X-GitHub-Hook-ID": "1", "X-Hub-Signature-256": bench.signature(body),
            "User-Agent": "GitHub-Hookshot/bench"})
        resp = conn.getresponse()
        answer = resp.read()
        conn.close()
        if resp.status != 202:
            raise RuntimeError("push to %s: %d %s" % (host, resp.status, answer))
        return json.loads(answer)["entry"]

    def outcomes(self, entry, timeout=300):
        """{host: 'done' | 'failed'} once every host's deployer has finished `entry` (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for key, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError("%s exited with %s (see %s)" % (key, proc.returncode, self.work))
            found = {}
            for host in self.hosts:
                var = os.path.join(self.work, "var", host)
                for where in ("done", "failed"):
                    if os.path.exists(os.path.join(var, where, DEPLOYMENT, entry)):
                        found[host] = where
            if len(found) == len(self.hosts):
                return found
            time.sleep(0.05)
        raise RuntimeError("%s not finished on every host after %d s (see %s)" %
                           (entry, timeout, self.work))

    def psql(self, sql):
        out = subprocess.run(["psql", self.url, "-XAt", "-F", "\t", "-c", sql], check=True,
                             capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def ledger(self, entry, pushed):
        """What the ledger says of the entry's rollout; times in s after `pushed` (epoch s)."""
        epoch = lambda column: "coalesce(extract(epoch FROM %s)::text, '')" % column
        rollout = self.psql(
            "SELECT state, coalesce(failed_host, ''), reason, %s, %s FROM rollouts"
            " WHERE deployment = '%s' AND entry_name = '%s'" %
            (epoch("created_at"), epoch("finished_at"), DEPLOYMENT, entry))
        hosts = self.psql(
            "SELECT host, state, %s, %s, %s, error FROM rollout_hosts"
            " WHERE deployment = '%s' AND entry_name = '%s' ORDER BY host" %
            (epoch("switch_started_at"), epoch("live_at"), epoch("ended_at"), DEPLOYMENT, entry))
        after = lambda text: float(text) - pushed if text else None
        record = {"rollout": None, "hosts": {}}
        if rollout:
            state, failed_host, reason, created, finished = rollout[0]
            record["rollout"] = {"state": state, "failed_host": failed_host, "reason": reason,
                                 "created_s": after(created), "finished_s": after(finished)}
        for host, state, switched, live, ended, error in hosts:
            record["hosts"][host] = {"state": state, "switch_s": after(switched),
                                     "live_s": after(live), "ended_s": after(ended), "error": error}
        lives = [h["live_s"] for h in record["hosts"].values()]
        record["all_live_s"] = max(lives) if len(lives) == len(self.hosts) and \
            all(v is not None for v in lives) else None
        # Switching: from switch_started_at to live_at (or ended_at when it never got live).
        spans = [(h["switch_s"], h["live_s"] if h["live_s"] is not None else h["ended_s"])
                 for h in record["hosts"].values() if h["switch_s"] is not None]
        spans = [(s, e if e is not None else float("inf")) for s, e in spans]
        record["most_switching"] = max_at_once(spans) if spans else None
        return record

    def served_for(self, host, versions, since_ms):
        """Seconds `host` answered one of `versions` after since_ms (from its load client's
        record of version changes)."""
        total, since = 0.0, None
        for e in self.events(host):
            if "version" not in e or e["t"] < since_ms:
                continue
            if e["version"] in versions and since is None:
                since = e["t"]
            elif e["version"] not in versions and since is not None:
                total += e["t"] - since
                since = None
        if since is not None:
            total += time.time() * 1000 - since
        return total / 1000

    def deploy(self, sha, before, via):
        """One push through `via`'s receiver, followed until every host finished and serves it."""
        t0 = time.time()
        entry = self.push(via, sha, before)
        outcomes = self.outcomes(entry)
        seen = {h: self.first_seen(h, sha, t0 * 1000, timeout=30) for h in self.hosts}
        record = {"sha": sha, "entry": entry, "via": via, "outcomes": outcomes, "pushed_ms": t0 * 1000,
                  "served_all_s": (max(seen.values()) / 1000 - t0)
                  if all(v is not None for v in seen.values()) else None}
        record.update(self.ledger(entry, t0))
        return record

    def run(self):
        self.setup()
        first = self.push(self.hosts[0], self.shas[0], "0" * 40)
        if set(self.outcomes(first).values()) != {"done"}:
            raise RuntimeError("the first deploy failed on some host (see %s)" % self.work)
        self.start_loads()
        for host in self.hosts:
            self.serve(host, self.shas[0])
        time.sleep(1.0)
        start = time.time() * 1000
        for i in range(1, self.deploys + 1):
            sha = self.commit("release %d" % i)
            record = self.deploy(sha, self.shas[-1], self.hosts[i % len(self.hosts)])
            self.raw["deploys"].append(record)
            log("max_parallel %d push %d via %s: %s; every host live after %s s, served after %s s,"
                " at most %s switching" % (self.max_parallel, i, record["via"],
                                           sorted(set(record["outcomes"].values())),
                                           fmt(record["all_live_s"]), fmt(record["served_all_s"]),
                                           record["most_switching"]))
            self.shas.append(sha)
        middle = time.time() * 1000
        # The bad commit: /up on the second host's port does not name the commit, as a release
        # that came up misconfigured there; the preflight (another port) and the others pass.
        second = self.ports[self.hosts[1]]

        def unhealthy_on_second(text):
            line = "const version = readVersion();"
            if line not in text:
                raise RuntimeError("demo/app/server.js changed: no '%s' to break" % line)
            return text.replace(line, "const version = process.env.PORT === '%d' ? 'misconfigured'"
                                      " : readVersion();" % second)

        bad = self.commit("bad: unhealthy on %s" % self.hosts[1], unhealthy_on_second)
        record = self.deploy(bad, self.shas[-1], self.hosts[0])
        time.sleep(3.0)  # what answers a moment later
        record["answers_after"] = {h: self.answering(h).replace(bad[:12], "the bad commit")
                                   for h in self.hosts}
        # How long each host's load client got answers of the bad release (its commit, or
        # "misconfigured" on the second host): the load client records each change of version.
        record["bad_served_s"] = {h: self.served_for(h, (bad, "misconfigured"), record["pushed_ms"])
                                  for h in self.hosts}
        self.raw["bad"] = record
        log("max_parallel %d bad commit: %s, rollout %s" % (self.max_parallel, record["outcomes"],
                                                            record["rollout"]))
        end = time.time() * 1000
        for host in self.hosts:
            self.raw["failed"][host] = {"deploys": self.failures(host, start, middle),
                                        "bad": self.failures(host, middle, end)}
            proc = self.loads[host]["proc"]
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
            with open(self.loads[host]["out"]) as f:
                self.raw["load"][host] = json.loads(f.read().strip().splitlines()[-1])
        self.raw["fanout_ms"] = fanout.fanout_latencies(
            self.url, {h: self.log_file(h, "router") for h in self.hosts})

    def cleanup(self):
        super().cleanup()
        for host in self.hosts[1:]:
            subprocess.run([PM2, "kill"], env=dict(os.environ, PM2_HOME=self.pm2_homes[host]),
                           capture_output=True)


def fmt(value):
    return "-" if value is None else "%.2f" % value


def run(build, hosts, deploy_count, rate, max_parallel, keep):
    work = tempfile.mkdtemp(prefix="bench-rollout-")
    os.chmod(work, 0o755)  # scripts/pg.sh runs the server as postgres: it must enter
    r = Rollout(build, work, hosts, deploy_count, rate, max_parallel)
    try:
        r.run()
        return r.raw
    finally:
        with open(os.path.join(work, "rollout.json"), "w") as f:
            json.dump(r.raw, f, indent=1)
        r.cleanup()
        if keep:
            log("work folder kept:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(runs):
    """The markdown section: one column per max_parallel."""
    lines = []
    add = lines.append
    first = runs[0]
    hosts = first["hosts"]
    add("| | %s |" % " | ".join("max_parallel %d" % r["max_parallel"] for r in runs))
    add("|---|" + "---:|" * len(runs))

    def row(label, values):
        add("| %s | %s |" % (label, " | ".join(values)))

    def pct(values, p):
        values = [v for v in values if v is not None]
        return bench.percentile(values, p) if values else None

    row("requests sent (%s)" % " / ".join(hosts),
        [" / ".join("{:,}".format(r["load"].get(h, {}).get("requests", 0)) for h in hosts)
         for r in runs])
    row("failed requests during the %d deploys (%s)" % (len(first["deploys"]), " / ".join(hosts)),
        [" / ".join(str(r["failed"][h]["deploys"]) for h in hosts) for r in runs])
    row("failed requests, bad commit", [" / ".join(str(r["failed"][h]["bad"]) for h in hosts)
                                        for r in runs])
    row("pushes deployed on every host", ["%d of %d" % (sum(set(d["outcomes"].values()) == {"done"}
                                                            for d in r["deploys"]), len(r["deploys"]))
                                          for r in runs])
    for key, label in (("all_live_s", "push -> every host live (ledger), p50 / max"),
                       ("served_all_s", "push -> every host serves it (load clients), p50 / max")):
        row(label, ["%s / %s s" % (fmt(pct([d[key] for d in r["deploys"]], 50)),
                                   fmt(max([d[key] for d in r["deploys"] if d[key] is not None],
                                           default=None)))
                    for r in runs])
    row("most hosts switching at once (ledger)",
        [str(max([d["most_switching"] for d in r["deploys"] if d["most_switching"] is not None],
                 default="-")) for r in runs])

    def bad(r):
        b = r["bad"]
        rollout = b["rollout"]
        state = "no rollout row" if rollout is None else "%s (failed host: %s)" % (
            rollout["state"], rollout["failed_host"] or "-")
        per_host = ", ".join("%s %s" % (h, b["hosts"].get(h, {}).get("state", b["outcomes"][h]))
                             for h in hosts)
        answers = ", ".join("%s: %s" % (h, b["answers_after"][h]) for h in hosts)
        return "%s; %s; 3 s later %s" % (state, per_host, answers)
    row("bad commit: rollout; each host; answering", [bad(r) for r in runs])
    row("bad commit: seconds each host served it (load clients)",
        [" / ".join(fmt(r["bad"]["bad_served_s"][h]) for h in hosts) for r in runs])

    def fan(r):
        every = [v for values in r["fanout_ms"].values() for v in values]
        if not every:
            return "-"
        return "%.1f / %.1f ms (n = %d)" % (bench.percentile(every, 50), bench.percentile(every, 99),
                                            len(every))
    row("fan-out latency p50 / p99", [fan(r) for r in runs])
    return "\n".join(lines) + "\n"


def main():
    # SIGTERM ends the run through the `finally` that stops everything it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--deploys", type=int, default=10)
    parser.add_argument("--parallel", default="1,3", help="max_parallel values, one run each")
    parser.add_argument("--rate", type=int, default=50, help="requests/s per host")
    parser.add_argument("--keep", action="store_true", help="keep the work folders")
    args = parser.parse_args()
    try:
        parallel = [int(v) for v in args.parallel.split(",")]
    except ValueError:
        parser.error("--parallel: comma-separated numbers")
    if not 2 <= args.hosts <= 8 or not 1 <= args.deploys <= 100 or \
            not all(1 <= p <= args.hosts for p in parallel) or not 1 <= args.rate <= 1000:
        parser.error("--hosts 2-8, --deploys 1-100, --parallel 1..hosts, --rate 1-1000")
    hosts = ["web%d" % (i + 1) for i in range(args.hosts)]
    started = time.time()
    runs = [run(args.build, hosts, args.deploys, args.rate, p, args.keep) for p in parallel]
    print("%s, `%s`, %.0f s\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                                  " ".join(["bench/rollout.py"] + sys.argv[1:]),
                                  time.time() - started))
    print(report(runs), flush=True)


if __name__ == "__main__":
    main()
