#!/usr/bin/env bash
# pg.sh: a throwaway local PostgreSQL cluster kept in one folder (development, tests, the embedded
# default of the README's run command).
#
#   scripts/pg.sh [--fast] start DIR   initialise if needed, start, create database `deployer`,
#                                      write the connection string to DIR/url and print it
#   scripts/pg.sh stop DIR             stop the server (fine when it is already stopped)
#   scripts/pg.sh status DIR           exit 0 and print the url when running; 3 stopped; 4 no cluster
#   scripts/pg.sh url DIR              print the connection string
#   scripts/pg.sh destroy DIR          stop, then remove DIR (and its socket folder)
#
# --fast (or PG_FAST=1) starts the server with fsync=off, synchronous_commit=off and
# full_page_writes=off: for throwaway test clusters only, a machine crash may corrupt the data.
#
# Contract: every command is safe to repeat (start when running just prints the url). Commands on
# one DIR are serialised by an flock on DIR/.lock. The server listens on a free TCP port on
# 127.0.0.1, chosen once and kept in DIR/port so a restart keeps its address, and on a unix socket;
# the connection string names the socket folder, so clients use the socket. Authentication is
# `trust`: anyone on this machine can connect as the superuser; do not keep data worth protecting.
# PostgreSQL refuses to run as root: run as root, the script runs the server tools as `postgres`
# (runuser) and hands it the cluster's folders; run as a normal user, it runs them directly.
#
# Layout: DIR/data (PGDATA), DIR/server.log, DIR/port, DIR/socketdir (the socket folder's path),
# DIR/url. The socket folder is DIR/sock, or a short folder under /tmp when DIR is too long for a
# socket path (unix socket paths are limited to about 100 bytes).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SERVER_USER=postgres
DATABASE=deployer

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

fast=${PG_FAST:-0}
positional=()
for arg in "$@"; do
  case $arg in
    --fast) fast=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option $arg (try --help)" ;;
    *) positional+=("$arg") ;;
  esac
done
((${#positional[@]} == 2)) || {
  usage >&2
  exit 2
}
command=${positional[0]}
dir=$(realpath -m -- "${positional[1]}")

as_root=0
if [[ $(id -u) -eq 0 ]]; then as_root=1; fi

# Runs a server tool as the account that owns the cluster. Descriptor 9 (the lock) is closed so a
# server started from here does not hold the lock for its whole life.
as_server() {
  if ((as_root)); then
    runuser -u "$SERVER_USER" -- "$@" 9>&-
  else
    "$@" 9>&-
  fi
}

# Gives the server account a folder or file the script created.
give_to_server() {
  if ((as_root)); then chown "$SERVER_USER:" "$@"; fi
}

is_initialised() { [[ -f $dir/data/PG_VERSION ]]; }

is_running() {
  is_initialised || return 1
  as_server "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

# A TCP port nobody listens on. Another process may take it before the server binds it: start
# retries with a new port when the bind fails.
pick_port() {
  local port i
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + RANDOM % 40000))
    if command -v ss >/dev/null; then
      [[ -z $(ss -Hltn "( sport = :$port )" 2>/dev/null) ]] && {
        echo "$port"
        return
      }
    elif ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# The socket folder: outside the 0700 data folder, writable by the server, and short enough for
# a unix socket path. Remembered in DIR/socketdir so the connection string never changes.
socket_dir() {
  local sock
  if [[ -s $dir/socketdir ]]; then
    sock=$(<"$dir/socketdir")
    mkdir -p -- "$sock"
  else
    sock=$dir/sock
    if ((${#sock} + 18 >= 100)); then
      sock=$(mktemp -d /tmp/pgsock.XXXXXX)
    else
      mkdir -p -- "$sock"
    fi
    echo "$sock" >"$dir/socketdir.tmp"
    mv -f -- "$dir/socketdir.tmp" "$dir/socketdir"
  fi
  chmod 700 -- "$sock"
  give_to_server "$sock"
  echo "$sock"
}

# Every folder above DIR must be searchable by the server account (a cluster under /root is not).
check_reachable() {
  if ((as_root)) && ! runuser -u "$SERVER_USER" -- test -x "$dir" 2>/dev/null; then
    die "the $SERVER_USER account cannot enter $dir: every folder above it must be searchable by $SERVER_USER (chmod o+x each one), or choose a folder it can reach"
  fi
}

initialise() {
  # initdb writes into data.tmp and the folder is renamed when it is complete: a crash or a failure
  # half-way leaves data.tmp (removed on the next start), never a half-made DIR/data that would
  # look initialised.
  rm -rf -- "$dir/data.tmp"
  mkdir -m 700 -- "$dir/data.tmp"
  give_to_server "$dir/data.tmp"
  if ! as_server "$PG_BIN/initdb" -D "$dir/data.tmp" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed in $dir/data.tmp (log above, also in $dir/initdb.log)"
  fi
  mv -- "$dir/data.tmp" "$dir/data"
}

start_server() {
  local port=$1 sock=$2
  local options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$sock"
  options+=" -c max_connections=200"
  if ((fast)); then
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  as_server "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" start \
    </dev/null >/dev/null 2>&1
}

bind_failed() {
  tail -n 20 "$dir/server.log" 2>/dev/null |
    grep -qE 'could not bind|Address already in use|could not create any TCP/IP sockets'
}

write_url() {
  local port=$1 sock=$2
  # Written whole then renamed: a reader never sees half a connection string.
  echo "host=$sock port=$port dbname=$DATABASE user=postgres" >"$dir/url.tmp"
  mv -f -- "$dir/url.tmp" "$dir/url"
}

cmd_start() {
  mkdir -p -- "$dir"
  exec 9>"$dir/.lock"
  flock -w 120 9 || die "timed out waiting for the lock on $dir/.lock"
  check_reachable

  if ! is_initialised; then initialise; fi
  local sock port remembered=0
  sock=$(socket_dir)
  if [[ -s $dir/port ]]; then
    port=$(<"$dir/port")
    remembered=1
  else
    port=$(pick_port)
  fi

  if ! is_running; then
    touch -- "$dir/server.log"
    give_to_server "$dir/server.log"
    local attempt
    for ((attempt = 1; ; attempt++)); do
      if start_server "$port" "$sock"; then break; fi
      if bind_failed && ((attempt < 5)); then
        if ((remembered)); then
          echo "pg.sh: port $port is taken now; moving the cluster in $dir to another port" >&2
          remembered=0
        fi
        port=$(pick_port)
        continue
      fi
      tail -n 20 "$dir/server.log" >&2 || true
      die "the server in $dir did not start (log above, also in $dir/server.log)"
    done
  fi
  echo "$port" >"$dir/port.tmp"
  mv -f -- "$dir/port.tmp" "$dir/port"

  local exists
  exists=$("$PG_BIN/psql" -h "$sock" -p "$port" -U postgres -d postgres -XtAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'") ||
    die "cannot query the server in $dir (socket $sock, port $port)"
  if [[ $exists != 1 ]]; then
    "$PG_BIN/createdb" -h "$sock" -p "$port" -U postgres "$DATABASE" ||
      die "createdb $DATABASE failed in $dir"
  fi
  write_url "$port" "$sock"
  cat -- "$dir/url"
}

cmd_stop() {
  [[ -d $dir ]] || return 0
  exec 9>"$dir/.lock"
  flock -w 120 9 || die "timed out waiting for the lock on $dir/.lock"
  if is_running; then
    as_server "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ||
      die "the server in $dir did not stop (see $dir/server.log)"
  fi
}

cmd_status() {
  if ! is_initialised; then
    echo "no cluster in $dir"
    exit 4
  fi
  if is_running; then
    echo "running: $(cat -- "$dir/url" 2>/dev/null)"
    exit 0
  fi
  echo "stopped"
  exit 3
}

cmd_url() {
  [[ -s $dir/url ]] || die "no connection string in $dir/url: run \`scripts/pg.sh start $dir\` first"
  cat -- "$dir/url"
}

cmd_destroy() {
  [[ -d $dir ]] || return 0
  cmd_stop
  local sock=""
  if [[ -s $dir/socketdir ]]; then sock=$(<"$dir/socketdir"); fi
  rm -rf -- "$dir"
  # The socket folder lives outside DIR only when it was made by mktemp under /tmp.
  if [[ $sock == /tmp/pgsock.* ]]; then rm -rf -- "$sock"; fi
}

case $command in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) cmd_url ;;
  destroy) cmd_destroy ;;
  *) die "unknown command $command (start, stop, status, url, destroy)" ;;
esac
