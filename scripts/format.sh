#!/usr/bin/env bash
# Formats the repository's C++ files with clang-format and the repository's .clang-format.
#
#   scripts/format.sh           rewrite every tracked .cpp/.hpp file in place
#   scripts/format.sh --check   change nothing; list the files that differ and exit 1 if any do
#
# Only files git tracks are looked at (build trees and node_modules are not).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h | --help)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "format.sh: error: unknown argument '$1' (see --help)" >&2
    exit 2
    ;;
esac

command -v clang-format >/dev/null || {
  echo "format.sh: error: clang-format is not installed (scripts/setup.sh installs it)" >&2
  exit 1
}

mapfile -d '' files < <(git ls-files -z -- '*.cpp' '*.hpp' '*.h' '*.cc')
if [[ $check == 0 ]]; then
  clang-format -i -- "${files[@]}"
  exit 0
fi

differ=()
for file in "${files[@]}"; do
  if ! clang-format --dry-run -Werror -- "$file" >/dev/null 2>&1; then differ+=("$file"); fi
done
if ((${#differ[@]} > 0)); then
  echo "format.sh: ${#differ[@]} file(s) differ from .clang-format (run scripts/format.sh):" >&2
  printf '  %s\n' "${differ[@]}" >&2
  exit 1
fi
echo "format.sh: ${#files[@]} files formatted as .clang-format says"
