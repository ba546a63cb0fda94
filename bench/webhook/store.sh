#!/bin/sh
# store.sh: the command adnanh/webhook runs per delivery in the benchmark (bench/bench.py writes
# the hooks.json). Stores the payload durably in the current folder, as a careful user of webhook
# would: write a dot-temporary, sync it, rename it to <delivery>.json, sync the folder.
#   store.sh DELIVERY PAYLOAD
set -eu
case $1 in *[!A-Za-z0-9._-]*|.*|'') echo "store.sh: bad delivery id" >&2; exit 1 ;; esac
tmp=".$1.tmp"
printf '%s' "$2" > "$tmp"
sync "$tmp"    # the data first: a crash after the rename must not leave an empty file
mv "$tmp" "$1.json"
sync .         # the rename is durable only once the folder is synced
echo stored "$1.json"
