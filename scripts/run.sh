#!/usr/bin/env bash
# Sets up (idempotent) and runs the triage API on embedded defaults: a SQLite database and the
# generated admin key in the data directory, the active model.
#
#   TRIAGE_HOST / TRIAGE_PORT   where to listen (default 127.0.0.1:8000)
#   TRIAGE_DATA_DIR             database and admin key (default ./data)
#   TRIAGE_DATABASE_URL         e.g. postgresql+psycopg://user:pw@host:5432/triage (default: SQLite)
#   TRIAGE_API_KEYS             "queue:<key>,advisor:<key>,..." (default: a generated admin key)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
HOST=${TRIAGE_HOST:-127.0.0.1}
PORT=${TRIAGE_PORT:-8000}
DATA_DIR=${TRIAGE_DATA_DIR:-$(pwd)/data}
echo "run: starting the triage API on http://$HOST:$PORT"
echo "run:   API docs:  http://$HOST:$PORT/docs"
if [ -z "${TRIAGE_API_KEYS:-}" ]; then
  echo "run:   admin key: $DATA_DIR/admin.key (created at the first start, mode 0600)"
fi
exec .venv/bin/triage serve --host "$HOST" --port "$PORT"
