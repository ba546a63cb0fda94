#!/usr/bin/env bash
# scripts/reliability.sh [--full] [--build-dir DIR]: the reliability suite (tests/reliability/,
# issue 8) with its figures. Without --full it runs the bounded CI variant (what ctest runs).
# --full: 2,000 pushes of crash chaos, a 30 s database outage with 1,000 pushes, 500 slow clients
# for 10 s, and 5 minutes of each fuzz target. Figures are the lines the tests print (grep
# "^crash chaos\|^database outage\|^slow clients\|^disk full\|^corpus"); copy them into
# docs/reliability.md with the command used.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build-reliability
full=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --full) full=1 ;;
    --build-dir) build=$2; shift ;;
    *) echo "reliability.sh: error: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $full -eq 1 ]]; then
  export DEPLOY_CHAOS_PUSHES=2000 DEPLOY_OUTAGE_S=30 DEPLOY_OUTAGE_PUSHES=1000
  export DEPLOY_SLOW_CLIENTS=500 DEPLOY_SLOW_SECONDS=10
fi

cmake -S "$here" -B "$build" -DDEPLOY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" >/dev/null
cmake --build "$build" -j2 --target reliability_http reliability_pipeline reliability_unit >/dev/null
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
log=$build/reliability.log
: >"$log"
status=0
if [[ $full -eq 1 ]]; then
  # The long variants outlive the ctest TIMEOUT of the CI variant: run the binaries directly
  # against the fixture cluster.
  pg=$build/test-pg
  "$here/scripts/pg.sh" start --fast "$pg" >/dev/null
  trap '"$here/scripts/pg.sh" stop "$pg" >/dev/null' EXIT
  for t in reliability_unit reliability_http reliability_pipeline; do
    DEPLOY_TEST_PG_DIR=$pg "$build/tests/$t" 2>&1 | sed 's/^/0: /' >>"$log" || status=1
  done
else
  ctest --test-dir "$build" -R '^(postgres|reliability_)' -E fuzz -V >"$log" 2>&1 || status=$?
fi
grep -aE '^[0-9]+: (corpus|slow clients|disk full|hostile files|crash chaos|database outage)' "$log" | sed 's/^[0-9]*: //'
grep -aE 'tests passed|tests failed' "$log"
if [[ $full -eq 1 ]]; then
  "$here/scripts/fuzz.sh" 300 || status=1
else
  "$here/scripts/fuzz.sh" 20 || status=1
fi
exit $status
