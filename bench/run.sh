#!/usr/bin/env bash
# run.sh: the whole benchmark of issue 9 in one command (see docs/performance.md).
#
#   bench/run.sh [bench.py options: --rounds 3 --seconds 4 --pushes 200 --backlog 10000 --keep]
#
# Builds a Release tree in build-bench/ (BENCH_BUILD=DIR to use another; BENCH_NO_BUILD=1 to
# skip the build), then runs bench/bench.py, which writes bench/results.md and prints it.
# Needs wrk and webhook (scripts/setup.sh --bench), git, g++, PostgreSQL 15 (scripts/pg.sh).
# Traffic goes to 127.0.0.1 only; every load is bounded in time. About 6-8 minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}

for tool in wrk webhook g++ git; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/setup.sh --bench)" >&2; exit 1; }
done

if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDEPLOY_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target receiver router deployer deployctl >/dev/null
fi

exec python3 "$root/bench/bench.py" --build "$build" "$@"
