#!/usr/bin/env bash
# A throwaway PostgreSQL TEST cluster (idempotent). Prints the database URL on stdout:
#
#   scripts/postgres.sh [start]   install PostgreSQL from Debian if missing, create the cluster if
#                                 missing, start it on a free loopback port, create the database;
#                                 prints postgresql+psycopg://triage:...@127.0.0.1:PORT/triage
#   scripts/postgres.sh status    exit 0 if the cluster is running
#   scripts/postgres.sh stop      stop the cluster (the data stays)
#   scripts/postgres.sh destroy   stop it and delete its directory
#   add --durable to any of them  a second cluster with the crash-safety settings of production
#                                 (fsync, synchronous_commit and full_page_writes on: PostgreSQL's
#                                 defaults), for durability tests; it lives in its own directory
#
#   TRIAGE_PG_DIR  where the cluster lives (default: ${TMPDIR:-/tmp}/triage-postgres-<user>, with
#                  --durable ${TMPDIR:-/tmp}/triage-postgres-durable-<user>)
#
# TEST SETTINGS: without --durable the cluster runs with fsync=off, synchronous_commit=off and
# full_page_writes=off: fast for tests, but a crash of PostgreSQL or of the machine loses or
# corrupts committed data. Never put real data in it, and never run production like this; see
# docs/operations.md for the settings, backups and point-in-time recovery of a real cluster.
#
# The cluster listens on 127.0.0.1 only, with password (scram-sha-256) authentication; the
# generated passwords stay in TRIAGE_PG_DIR (mode 0700). It runs as the 'postgres' user when this
# script runs as root (PostgreSQL refuses to run as root), else as the current user.
set -euo pipefail

DURABLE=0
ARGS=()
for arg in "$@"; do
  case "$arg" in
    --durable) DURABLE=1 ;;
    *) ARGS+=("$arg") ;;
  esac
done
ACTION=${ARGS[0]:-start}
if [ "$DURABLE" = 1 ]; then
  DIR=${TRIAGE_PG_DIR:-${TMPDIR:-/tmp}/triage-postgres-durable-$(id -un)}
  # PostgreSQL's defaults, stated so that nothing (e.g. a postgresql.auto.conf) weakens them.
  SAFETY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  KIND="durable test cluster (fsync=on, synchronous_commit=on, full_page_writes=on)"
else
  DIR=${TRIAGE_PG_DIR:-${TMPDIR:-/tmp}/triage-postgres-$(id -un)}
  SAFETY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  KIND="TEST cluster with fsync=off, synchronous_commit=off, full_page_writes=off: a crash loses data; never put real data in it (docs/operations.md)"
fi
DATA=$DIR/data
LOG=$DIR/server.log
DB=triage
DB_USER=triage

say() { echo "postgres.sh: $*" >&2; }

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

ensure_installed() {
  if pg_bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    say "PostgreSQL is not installed; run as root (or: sudo apt-get install -y postgresql)"
    exit 1
  fi
  say "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null 2>&1 || {
    apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }
  pg_bindir >/dev/null || { say "PostgreSQL was installed but initdb was not found"; exit 1; }
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local py
  py=$(command -v python3 || echo "$(dirname "$0")/../.venv/bin/python")
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_free() {
  local py
  py=$(command -v python3 || echo "$(dirname "$0")/../.venv/bin/python")
  "$py" -c "import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(('127.0.0.1', int(sys.argv[1])))
except OSError:
    sys.exit(1)" "$1"
}

secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

running() {
  local bin; bin=$(pg_bindir) || return 1
  [ -f "$DATA/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url() { echo "postgresql+psycopg://$DB_USER:$(cat "$DIR/triage.password")@127.0.0.1:$(cat "$DIR/port")/$DB"; }

psql_admin() {
  PGPASSWORD=$(cat "$DIR/postgres.password") "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
    -p "$(cat "$DIR/port")" -U postgres -d postgres "$@"
}

start() {
  ensure_installed
  BIN=$(pg_bindir)
  if [ "$(id -u)" -eq 0 ]; then id postgres >/dev/null 2>&1 || { say "the 'postgres' user is missing"; exit 1; }; fi
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$DIR"

  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "creating a cluster in $DATA"
    rm -rf "$DATA"
    secret > "$DIR/postgres.password"
    secret > "$DIR/triage.password"
    chmod 600 "$DIR/postgres.password" "$DIR/triage.password"
    [ "$(id -u)" -eq 0 ] && chown postgres "$DIR/postgres.password"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=scram-sha-256 --pwfile="$DIR/postgres.password" \
      -E UTF8 --locale=C.UTF-8 >/dev/null 2>"$DIR/initdb.log" || \
      as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=scram-sha-256 --pwfile="$DIR/postgres.password" \
        -E UTF8 --locale=C >/dev/null
    rm -f "$DIR/port"
  fi

  if ! running; then
    local port
    port=$(cat "$DIR/port" 2>/dev/null || true)
    if [ -z "$port" ] || ! port_free "$port"; then port=$(free_port); fi
    echo "$port" > "$DIR/port"
    touch "$LOG"; [ "$(id -u)" -eq 0 ] && chown postgres "$LOG"
    say "starting PostgreSQL on 127.0.0.1:$port: $KIND"
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -o \
      "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$DIR' $SAFETY -c max_connections=200" \
      start >/dev/null || { say "PostgreSQL did not start; see $LOG"; tail -n 20 "$LOG" >&2; exit 1; }
  else
    say "PostgreSQL is running in $DIR: $KIND"
  fi

  if ! psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'" | grep -q 1; then
    psql_admin -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$(cat "$DIR/triage.password")'"
  fi
  if ! psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    psql_admin -c "CREATE DATABASE $DB OWNER $DB_USER"
  fi
  url
}

case "$ACTION" in
  start) start ;;
  url) [ -f "$DIR/port" ] && url ;;
  status) running ;;
  stop)
    if running; then BIN=$(pg_bindir); as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; say "stopped"; fi ;;
  destroy)
    if running; then BIN=$(pg_bindir); as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
    rm -rf "$DIR"; say "removed $DIR" ;;
  *) echo "usage: $0 [start|status|url|stop|destroy] [--durable]" >&2; exit 2 ;;
esac
