#!/usr/bin/env python3
"""fsync-baseline.py: the disk's durable-publish rate, to compare the receiver against.

    bench/fsync-baseline.py [THREADS] [SECONDS] [BYTES] [shared]

Each thread repeats the queue's publish protocol: create a dot-temporary, write BYTES (default
8 KB), fsync, close, rename to the final name, fsync the folder. Each thread has its own fresh
folder, or with "shared" all threads publish into one folder, as the receiver does into inbox/.
Prints publishes per second over all threads. os.fsync releases the GIL, so threads overlap
their fsyncs as the receiver's publish threads do.
"""
import os, sys, tempfile, threading, time

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 8
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5
size = int(sys.argv[3]) if len(sys.argv) > 3 else 8192
shared = len(sys.argv) > 4 and sys.argv[4] == "shared"
root = tempfile.mkdtemp(prefix="fsync-baseline.")
data = b"x" * size
counts = [0] * threads
deadline = time.monotonic() + seconds

def worker(index):
    folder = os.path.join(root, "shared" if shared else str(index))
    os.makedirs(folder, exist_ok=True)
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    n = 0
    while time.monotonic() < deadline:
        tmp = os.path.join(folder, ".%d-%d.tmp" % (index, n))
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        os.rename(tmp, os.path.join(folder, "%020d-%d.json" % (n, index)))
        os.fsync(dir_fd)
        n += 1
    counts[index] = n

workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
started = time.monotonic()
for w in workers: w.start()
for w in workers: w.join()
elapsed = time.monotonic() - started
print("fsync-baseline: %d threads%s, %d publishes of %d bytes, %.0f/s (state in %s)"
      % (threads, ", one shared folder" if shared else "", sum(counts), size, sum(counts) / elapsed, root))
