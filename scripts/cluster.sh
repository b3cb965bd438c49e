#!/usr/bin/env bash
# Several API instances behind nginx on one machine, sharing one PostgreSQL: the deployment that the
# multi-instance tests start (tests/cluster/). All on loopback; nothing of the system's own
# configuration is touched (nginx runs with a generated config and pid file in the cluster's dir).
#
#   scripts/cluster.sh start              PostgreSQL (scripts/postgres.sh, unless TRIAGE_DATABASE_URL
#                                         is set), the API instances, nginx; prints the proxy's URL
#   scripts/cluster.sh status             each part: running or not (exit 1 if any is down)
#   scripts/cluster.sh stop               nginx and the instances (PostgreSQL keeps running:
#                                         scripts/postgres.sh stop)
#   scripts/cluster.sh stop-instance N    stop instance N (1-based) gracefully; nginx sends its
#   scripts/cluster.sh start-instance N   requests to the others meanwhile
#
#   TRIAGE_CLUSTER_DIR        where logs, pid files and the generated nginx config live
#                             (default ${TMPDIR:-/tmp}/triage-cluster-<user>)
#   TRIAGE_CLUSTER_PORT       the proxy's port on 127.0.0.1 (default 8080)
#   TRIAGE_CLUSTER_INSTANCES  how many API instances (default 2); each gets a free loopback port
#   TRIAGE_MODEL_PROCESSES    default 0 here: each instance predicts in its own process (two
#                             instances already use two cores)
#   other TRIAGE_* settings   passed to every instance (TRIAGE_API_KEYS, TRIAGE_MODEL_DIR, ...)
#
# nginx: passive health checks (an instance that fails a connection is left out for 5 s) and
# retries on the next instance (`proxy_next_upstream`) for what can be repeated safely: every
# request whose connection failed before it was sent, any GET/HEAD, and POST /v1/chats (idempotent
# by the platform's chat id: api/chats/intake.py). Other POSTs (a triage writes an audit record)
# are not sent twice once an instance has received them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${TRIAGE_CLUSTER_DIR:-${TMPDIR:-/tmp}/triage-cluster-$(id -un)}
PROXY_PORT=${TRIAGE_CLUSTER_PORT:-8080}
N=${TRIAGE_CLUSTER_INSTANCES:-2}
PY=$ROOT/.venv/bin/python
ACTION=${1:-start}

say() { echo "cluster.sh: $*" >&2; }

nginx_bin() {
  local b
  for b in "$(command -v nginx 2>/dev/null || true)" /usr/sbin/nginx; do
    if [ -n "$b" ] && [ -x "$b" ]; then echo "$b"; return 0; fi
  done
  return 1
}

ensure_nginx() {
  if nginx_bin >/dev/null; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    say "nginx is not installed; run as root (or: sudo apt-get install -y nginx-light)"
    exit 1
  fi
  say "installing nginx from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's package starts a system nginx on port 80; policy-rc.d keeps it from starting.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; created=1; fi
  { apt-get install -y -q nginx-light >/dev/null 2>&1 || {
      apt-get update -q >/dev/null && apt-get install -y -q nginx-light >/dev/null; }; } || true
  [ "$created" = 1 ] && rm -f "$policy"
  nginx_bin >/dev/null || { say "nginx could not be installed"; exit 1; }
}

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ready() { "$PY" -c 'import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)' "$1"; }

instance_dir() { echo "$DIR/instance-$1"; }

start_instance() {
  local i=$1 d port
  d=$(instance_dir "$i")
  mkdir -p "$d"
  if alive "$d/pid"; then say "instance $i is running"; return 0; fi
  port=$(cat "$d/port" 2>/dev/null || free_port)
  echo "$port" > "$d/port"
  # Shared: the database and the data dir (admin.key, and the audit outbox: each process writes
  # files of its own, and replays those of a process that died, api/audit/writer.py).
  TRIAGE_DATABASE_URL=$DATABASE_URL TRIAGE_DATA_DIR=$DIR/data \
    TRIAGE_MODEL_PROCESSES=${TRIAGE_MODEL_PROCESSES:-0} \
    setsid "$PY" -m triage_cli.main serve --host 127.0.0.1 --port "$port" \
    >>"$d/server.log" 2>&1 < /dev/null &
  echo $! > "$d/pid"
}

wait_ready() {
  local i=$1 d port deadline
  d=$(instance_dir "$i"); port=$(cat "$d/port")
  deadline=$((SECONDS + 120))
  until ready "http://127.0.0.1:$port"; do
    if ! alive "$d/pid"; then say "instance $i exited; see $d/server.log"; tail -n 20 "$d/server.log" >&2; exit 1; fi
    if [ $SECONDS -gt $deadline ]; then say "instance $i not ready after 120 s; see $d/server.log"; exit 1; fi
    sleep 0.3
  done
  say "instance $i ready on 127.0.0.1:$port"
}

stop_instance() {
  local i=$1 d pid
  d=$(instance_dir "$i")
  alive "$d/pid" || { rm -f "$d/pid"; return 0; }
  pid=$(cat "$d/pid")
  kill -TERM "$pid"  # uvicorn stops accepting, finishes running requests (at most 5 s), then exits
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$d/pid"
  say "instance $i stopped"
}

write_nginx_conf() {
  local n=$DIR/nginx servers="" i user=""
  mkdir -p "$n/tmp"
  for i in $(seq 1 "$N"); do
    servers+="        server 127.0.0.1:$(cat "$(instance_dir "$i")/port") max_fails=1 fail_timeout=5s;"$'\n'
  done
  if [ "$(id -u)" -eq 0 ]; then user="user nobody nogroup;"; chown nobody "$n/tmp" 2>/dev/null || true; fi
  cat > "$n/nginx.conf" <<EOF
# Generated by scripts/cluster.sh; edits are overwritten at the next start.
$user
worker_processes 1;
daemon on;
pid $n/nginx.pid;
error_log $n/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;  # paths carry chat ids; the API logs its own requests without text
    client_body_temp_path $n/tmp/body;
    proxy_temp_path $n/tmp/proxy;
    fastcgi_temp_path $n/tmp/fastcgi;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
    client_max_body_size 1m;       # the API answers its own 413 above TRIAGE_MAX_BODY_BYTES
    client_body_buffer_size 1m;    # bodies stay in memory
    upstream triage {
$servers    }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        server_tokens off;
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_connect_timeout 2s;
        proxy_read_timeout 900s;   # an activation runs the quality gate (tens of seconds)
        proxy_buffering off;       # the queue page's updates arrive as they are sent
        proxy_next_upstream error timeout http_502 http_503 http_504;
        proxy_next_upstream_tries $N;
        proxy_next_upstream_timeout 15s;
        location / { proxy_pass http://triage; }
        # Idempotent by the platform's chat id: a retry replays the chat instead of adding one.
        location = /v1/chats {
            proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
            proxy_pass http://triage;
        }
    }
}
EOF
}

start() {
  ensure_nginx
  mkdir -p "$DIR/data"
  chmod 700 "$DIR" "$DIR/data"
  if [ -n "${TRIAGE_DATABASE_URL:-}" ]; then
    DATABASE_URL=$TRIAGE_DATABASE_URL
  else
    DATABASE_URL=$(bash "$ROOT/scripts/postgres.sh" start)
  fi
  # The first instance runs the migrations and creates the admin key (if no key is configured);
  # the others wait for its start-up lock anyway, so they start together.
  for i in $(seq 1 "$N"); do start_instance "$i"; done
  for i in $(seq 1 "$N"); do wait_ready "$i"; done
  write_nginx_conf
  local bin; bin=$(nginx_bin)
  if alive "$DIR/nginx/nginx.pid"; then
    "$bin" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -s reload
  else
    "$bin" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log" \
      || { say "nginx did not start; see $DIR/nginx/error.log"; exit 1; }
  fi
  say "nginx on 127.0.0.1:$PROXY_PORT in front of $N instances; logs in $DIR"
  [ -f "$DIR/data/admin.key" ] && say "admin key: $DIR/data/admin.key"
  echo "http://127.0.0.1:$PROXY_PORT"
}

status() {
  local ok=0 i d
  if alive "$DIR/nginx/nginx.pid"; then echo "nginx: running on 127.0.0.1:$PROXY_PORT"; else echo "nginx: down"; ok=1; fi
  for i in $(seq 1 "$N"); do
    d=$(instance_dir "$i")
    if alive "$d/pid" && ready "http://127.0.0.1:$(cat "$d/port")"; then
      echo "instance $i: ready on 127.0.0.1:$(cat "$d/port")"
    elif alive "$d/pid"; then echo "instance $i: running, not ready"; ok=1
    else echo "instance $i: down"; ok=1; fi
  done
  return $ok
}

stop() {
  if alive "$DIR/nginx/nginx.pid"; then
    kill -QUIT "$(cat "$DIR/nginx/nginx.pid")"  # graceful: finishes the requests it is proxying
    for _ in $(seq 1 100); do alive "$DIR/nginx/nginx.pid" || break; sleep 0.1; done
    say "nginx stopped"
  fi
  for i in $(seq 1 "$N"); do stop_instance "$i"; done
}

instance_arg() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$N" ] || {
    say "instance number: 1 to $N, got '${1:-}'"; exit 2; }
}

case "$ACTION" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  stop-instance) instance_arg "${2:-}"; stop_instance "$2" ;;
  start-instance)
    instance_arg "${2:-}"
    DATABASE_URL=${TRIAGE_DATABASE_URL:-$(bash "$ROOT/scripts/postgres.sh" url)}
    start_instance "$2"; wait_ready "$2" ;;
  *) echo "usage: $0 start|status|stop|stop-instance N|start-instance N" >&2; exit 2 ;;
esac
