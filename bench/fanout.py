#!/usr/bin/env python3
"""fanout.py: fan-out latency between simulated hosts (issue 19, docs/hosts.md).

    bench/fanout.py --build BUILD_DIR [--hosts 3] [--pushes 200] [--interval-ms 20] [--keep]

Starts a throwaway PostgreSQL (scripts/pg.sh, durable settings), writes one configuration for a
fleet of --hosts simulated hosts (state_dir .../${DEPLOY_HOST}, one deployment on every host),
migrates the ledger, starts host 1's receiver and every host's router (the real binaries, each
with its own --host), then POSTs --pushes signed pushes to host 1's receiver, one every
--interval-ms. For each push and each other host, the latency is from the moment host 1's router
recorded the fan-out item (fanout_items.created_at: the start of the routing transaction, in
microseconds) to the moment that host's router logged "fanned-out entry queued" for it (right
after the entry was durable in its queue folder; log times have millisecond resolution).
Prints p50, p90, p99 and max in milliseconds. Traffic goes to 127.0.0.1 only; every wait is
bounded. Needs psql (postgresql-client).
"""
import argparse
import calendar
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

SECRET = "bench-fanout-secret"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENTRY = re.compile(r"^[0-9]{20}-[A-Za-z0-9_-]{1,100}\.json$")


def entries(folder):
    try:
        return sorted(n for n in os.listdir(folder) if ENTRY.match(n))
    except FileNotFoundError:
        return []


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise SystemExit(f"fanout.py: timed out waiting for {what}")


def receiver_port(log_file, proc):
    def found():
        if proc.poll() is not None:
            raise SystemExit("fanout.py: the receiver exited:\n" + open(log_file).read())
        return os.path.exists(log_file) and re.search(r"listening .*port=([0-9]+)", open(log_file).read())
    wait_for(found, 20, "the receiver to listen")
    return int(re.search(r"listening .*port=([0-9]+)", open(log_file).read()).group(1))


def push(port, delivery, sha):
    body = json.dumps({
        "ref": "refs/heads/main", "before": "0" * 40, "after": sha, "created": False,
        "deleted": False, "forced": False,
        "repository": {"name": "app", "full_name": "bench/app", "owner": {"login": "bench"}},
        "head_commit": {"id": sha, "message": "bench"}, "commits": [{"id": sha, "message": "bench"}],
    }).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/github-webhook", body, {
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "1", "X-Hub-Signature-256": signature, "User-Agent": "GitHub-Hookshot/bench"})
    status = conn.getresponse().status
    conn.close()
    if status != 202:
        raise SystemExit(f"fanout.py: the receiver answered {status}")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fanout_latencies(url, router_logs):
    """Fan-out latency in ms of every item for the hosts of router_logs ({host: its router's log
    file}): from the routing transaction that recorded it (fanout_items.created_at, microseconds)
    to the target host's router logging "fanned-out entry queued" for it (milliseconds)."""
    rows = subprocess.run(
        ["psql", url, "-At", "-F", " ", "-c",
         "SELECT host, entry_name, (extract(epoch FROM created_at) * 1e9)::bigint FROM fanout_items"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    queued_at = {}  # (host, entry) -> ns, from each router's log line
    line = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z .*fanned-out entry queued .*entry=(\S+)")
    for host, log in router_logs.items():
        for text in open(log):
            match = line.match(text)
            if match:
                seconds = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
                queued_at[(host, match.group(3))] = seconds * 10**9 + int(match.group(2)) * 10**6
    latencies = {h: [] for h in router_logs}
    for row in filter(None, rows):
        host, name, created_ns = row.split(" ")
        if host in latencies and (host, name) in queued_at:
            latencies[host].append((queued_at[(host, name)] - int(created_ns)) / 1e6)
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, help="build folder holding bin/")
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    if not 2 <= args.hosts <= 16 or not 1 <= args.pushes <= 5000:
        raise SystemExit("fanout.py: --hosts 2-16 and --pushes 1-5000")
    bins = os.path.join(os.path.abspath(args.build), "bin")
    work = tempfile.mkdtemp(prefix="bench-fanout-")
    os.chmod(work, 0o755)
    pg = os.path.join(work, "pg")
    hosts = [f"bench{i + 1}" for i in range(args.hosts)]
    procs = []
    try:
        url = subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "start", pg], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        config = os.path.join(work, "fleet.json")
        with open(config, "w") as f:
            json.dump({
                "instance": "bench-fanout", "allow_root": True,
                "state_dir": os.path.join(work, "var", "${DEPLOY_HOST}"),
                "listen": {"host": "127.0.0.1", "port": 0},
                "router": {"rescan_s": 30},
                "deployments": {"app": {"repository": "bench/app", "branch": "main",
                                        "path": os.path.join(work, "srv", "${DEPLOY_HOST}"),
                                        "hosts": hosts, "coalesce": False, "steps": []}},
            }, f)
        env = dict(os.environ, DATABASE_URL=url, WEBHOOK_SECRET=SECRET, GITHUB_TOKEN="")
        subprocess.run([os.path.join(bins, "deployctl"), "migrate", "--config", config], env=env,
                       check=True, capture_output=True)

        def start(program, host):
            log = open(os.path.join(work, f"{host}-{program}.log"), "ab")
            proc = subprocess.Popen([os.path.join(bins, program), "--config", config, "--host", host],
                                    env=env, stdout=log, stderr=log)
            procs.append(proc)
            return proc

        receiver = start("receiver", hosts[0])
        port = receiver_port(os.path.join(work, f"{hosts[0]}-receiver.log"), receiver)
        for host in hosts:
            start("router", host)
        for host in hosts[1:]:
            wait_for(lambda h=host: os.path.exists(os.path.join(work, f"{h}-router.log")) and
                     "fan-out started" in open(os.path.join(work, f"{h}-router.log")).read(),
                     30, f"{host}'s router")

        for i in range(args.pushes):
            push(port, str(uuid.uuid4()), f"{i + 1:040x}")
            time.sleep(args.interval_ms / 1000)
        queue = lambda h: os.path.join(work, "var", h, "queues", "app")
        for host in hosts:
            wait_for(lambda h=host: len(entries(queue(h))) == args.pushes, 120, f"{host}'s queue")

        latencies = fanout_latencies(url, {h: os.path.join(work, f"{h}-router.log") for h in hosts[1:]})
        every = [v for values in latencies.values() for v in values]
        print(f"fan-out latency, {args.pushes} pushes to {hosts[0]}'s receiver, one every "
              f"{args.interval_ms} ms, {args.hosts} hosts ({len(every)} deliveries), build {args.build}")
        print("host        n     p50 ms   p90 ms   p99 ms   max ms")
        for host, values in list(latencies.items()) + [("all", every)]:
            print(f"{host:<10} {len(values):>4} {percentile(values, 50):>9.1f} {percentile(values, 90):>8.1f} "
                  f"{percentile(values, 99):>8.1f} {max(values):>8.1f}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "destroy", pg], capture_output=True)
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
