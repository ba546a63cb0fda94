#!/bin/sh
# scripts/fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets of fuzz/ with clang into
# build-fuzz/ (or $FUZZ_BUILD_DIR) and runs each for SECONDS (default 60). Targets: fuzz_handler
# (receiver::handle_request), fuzz_entry (common::parse_entry + parse_push), fuzz_config
# (common::parse_config), fuzz_intake (the deployer's entry check: every reason storable in the
# ledger). Corpora grow in $FUZZ_BUILD_DIR/corpus/<target>/, seeded from
# fuzz/seeds/<target>/ when present. Exit status 1 on the first
# crash (libFuzzer leaves crash-<sha> in the build folder: turn it into a regression test).
# Needs clang and libclang-rt-14-dev (scripts/setup.sh installs them).
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_handler fuzz_entry fuzz_config fuzz_intake}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

command -v clang++ >/dev/null || { echo "fuzz.sh: error: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S "$root/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 >/dev/null

for target in $targets; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  seeds=$root/fuzz/seeds/$target
  [ -d "$seeds" ] || seeds=
  echo "fuzz.sh: $target for ${seconds}s"
  (cd "$build" && ASAN_OPTIONS=detect_leaks=0 "./$target" -max_total_time="$seconds" \
      -max_len=262144 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" $seeds \
      2>"$build/$target.log") || { tail -n 60 "$build/$target.log" >&2; echo "fuzz.sh: $target crashed" >&2; exit 1; }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/$target.log" | sed "s/^/  /"
done
