#!/usr/bin/env bash
# Builds the whole tree (tests included) as a Release build into build-rel/ with every warning an
# error: every build type must be warning-free, and GCC warns about different things at -O2
# (-Wmaybe-uninitialized, -Wrestrict) than in the sanitizer build. Runs no tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >/dev/null
cmake --build build-rel -j"$(nproc)"
