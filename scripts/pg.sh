#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for tests and the local run.
#
#   scripts/pg.sh start   [DIR]  initdb (first time) + start; prints the DSN
#   scripts/pg.sh stop    [DIR]  fast stop, then removes DIR
#   scripts/pg.sh restart [DIR]  fast restart on the same port (reconnect tests)
#   scripts/pg.sh dsn     [DIR]  prints the DSN of the running cluster
#   scripts/pg.sh status  [DIR]  exit 0 when running, 3 when not
#
# DIR defaults to <repo>/.local/pg (git-ignored). The cluster listens on
# 127.0.0.1 on a free port, trusts every local connection (user postgres, no
# password) and has a database `mlops`; durability is off (fsync, synchronous
# commit, full page writes): it is for tests, never for data you keep.
# The DSN (postgresql://postgres@127.0.0.1:<port>/mlops) is also in DIR/dsn.
# Quiet on success; on failure one message on stderr with the server log tail.
# When run as root, the server runs as the `postgres` user (runuser).
set -euo pipefail

PG_BIN=${MLOPS_PG_BIN:-/usr/lib/postgresql/15/bin}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MARKER=.mlops-pg           # marks a directory this script created
START_TIMEOUT_S=60
MAX_PORT_TRIES=20

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: scripts/pg.sh start|stop|restart|dsn|status [DIR]" >&2
  exit 2
}

# --- helpers -----------------------------------------------------------------

as_pg() {  # runs a server binary as the postgres user when we are root
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

log_tail() {  # prints the last lines of the logs we keep, for error messages
  local f
  for f in "$DIR/initdb.log" "$DIR/server.log"; do
    if [[ -s "$f" ]]; then
      echo "--- tail of $f:" >&2
      tail -n 25 "$f" >&2 || true
    fi
  done
}

fail() {  # die with the logs
  echo "pg.sh: $*" >&2
  log_tail
  exit 1
}

is_running() {
  [[ -f "$DATA/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

port_in_use() {  # true when something accepts connections on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {  # a random port in 20000..59999 that nothing listens on
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

dsn_for_port() {
  echo "postgresql://postgres@127.0.0.1:$1/mlops"
}

current_port() {
  sed -n 's/^port = \([0-9]*\)$/\1/p' "$DATA/mlops_port.conf" 2>/dev/null
}

# Makes DIR usable by the postgres user when we are root: DIR is chowned, and
# every ancestor it cannot traverse gets o+x (search only, no read).
grant_access() {
  [[ $(id -u) -eq 0 ]] || return 0
  chown postgres:postgres "$DIR"
  chmod 0755 "$DIR"
  local d="$DIR"
  while [[ "$d" != "/" ]]; do
    d=$(dirname "$d")
    if ! runuser -u postgres -- test -x "$d"; then
      chmod o+x "$d"
    fi
  done
  runuser -u postgres -- test -w "$DIR" || die "user postgres cannot write to $DIR"
}

init_cluster() {
  [[ -x "$PG_BIN/initdb" ]] || die "no PostgreSQL 15 server binaries in $PG_BIN (run scripts/setup.sh)"
  grant_access
  if ! as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust --no-sync \
      -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1; then
    fail "initdb failed in $DATA"
  fi
  rm -f "$DIR/initdb.log"
  # Unix sockets live in DIR unless its path is too long for sun_path (107).
  local sockdir="$DIR"
  if (( ${#DIR} > 90 )); then sockdir=""; fi
  cat >>"$DATA/postgresql.conf" <<EOF

# --- added by scripts/pg.sh: throwaway test cluster, durability off ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
logging_collector = off
include 'mlops_port.conf'
EOF
}

set_port() {
  echo "port = $1" >"$DATA/mlops_port.conf"
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$DATA/mlops_port.conf"; fi
}

pg_start() {  # starts the server; returns 1 when the port was taken
  : >"$DIR/server.log"
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$DIR/server.log"; fi
  if as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t "$START_TIMEOUT_S" \
      start >/dev/null 2>"$DIR/pg_ctl.err" 9>&-; then
    return 0
  fi
  if grep -q "could not bind\|Address already in use\|could not create any TCP/IP sockets" \
      "$DIR/server.log" 2>/dev/null; then
    return 1
  fi
  cat "$DIR/pg_ctl.err" >&2 || true
  fail "pg_ctl start failed in $DATA"
}

psql_admin() {  # psql on the running cluster as postgres, database $1, SQL $2
  "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(current_port)" \
    -U postgres -d "$1" -c "$2"
}

ensure_database() {
  local have
  have=$(psql_admin postgres "SELECT 1 FROM pg_database WHERE datname = 'mlops'" 2>"$DIR/psql.err") \
    || { cat "$DIR/psql.err" >&2; fail "cannot query the new cluster"; }
  if [[ "$have" != "1" ]]; then
    psql_admin postgres "CREATE DATABASE mlops" 2>"$DIR/psql.err" \
      || { cat "$DIR/psql.err" >&2; fail "CREATE DATABASE mlops failed"; }
  fi
}

write_dsn() {
  dsn_for_port "$(current_port)" >"$DIR/dsn"
  cat "$DIR/dsn"
}

# --- commands ----------------------------------------------------------------

cmd_start() {
  if [[ -e "$DIR" && ! -f "$DIR/$MARKER" ]] && [[ -n "$(ls -A "$DIR")" ]]; then
    die "$DIR exists, is not empty and was not made by pg.sh; refusing to use it"
  fi
  mkdir -p "$DIR"
  touch "$DIR/$MARKER"
  exec 9>"$DIR/.lock"
  flock -w 120 9 || die "timed out waiting for another pg.sh on $DIR"

  if is_running; then
    write_dsn
    return 0
  fi
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    rm -rf "$DATA"
    init_cluster
  fi
  # Reuse the recorded port when restarting an existing cluster; otherwise
  # pick one, and pick again if someone else binds it first.
  local try port
  port=$(current_port || true)
  for ((try = 0; try < MAX_PORT_TRIES; try++)); do
    if [[ -z "$port" ]] || port_in_use "$port"; then
      port=$(pick_port) || die "no free TCP port found on 127.0.0.1"
    fi
    set_port "$port"
    if pg_start; then
      ensure_database
      write_dsn
      return 0
    fi
    port=""
  done
  fail "could not bind a free port after $MAX_PORT_TRIES tries"
}

cmd_stop() {
  [[ -e "$DIR" ]] || return 0
  if [[ ! -f "$DIR/$MARKER" ]]; then
    if [[ -d "$DIR" && -z "$(ls -A "$DIR")" ]]; then rmdir "$DIR"; return 0; fi
    die "$DIR was not made by pg.sh; refusing to remove it"
  fi
  if is_running; then
    if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
      as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || fail "could not stop the server in $DATA"
    fi
  fi
  rm -rf "$DIR"
}

cmd_restart() {
  [[ -f "$DIR/$MARKER" && -f "$DATA/PG_VERSION" ]] || die "no cluster in $DIR (start it first)"
  exec 9>"$DIR/.lock"
  flock -w 120 9 || die "timed out waiting for another pg.sh on $DIR"
  if is_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || fail "could not stop the server in $DATA"
  fi
  pg_start || fail "port $(current_port) was taken while restarting"
  write_dsn >/dev/null
}

cmd_dsn() {
  is_running || die "no running cluster in $DIR"
  write_dsn
}

[[ $# -ge 1 && $# -le 2 ]] || usage
CMD=$1
DIR=${2:-$REPO_ROOT/.local/pg}
mkdir -p "$(dirname "$DIR")"
DIR=$(cd "$(dirname "$DIR")" && pwd)/$(basename "$DIR")
DATA=$DIR/data

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_restart ;;
  dsn) cmd_dsn ;;
  status) if is_running; then exit 0; else exit 3; fi ;;
  *) usage ;;
esac
