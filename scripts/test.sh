#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite. Extra arguments go to pytest.
#
# The API tests run against SQLite and against a real PostgreSQL: unless TRIAGE_TEST_POSTGRES_URL
# is already set, scripts/postgres.sh installs (Debian's package) and starts a throwaway cluster
# on a free loopback port, and stops it again afterwards if it was not running before.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

STOP_PG=0
if [ -z "${TRIAGE_TEST_POSTGRES_URL:-}" ]; then
  bash scripts/postgres.sh status || STOP_PG=1
  if URL=$(bash scripts/postgres.sh start); then
    export TRIAGE_TEST_POSTGRES_URL="$URL"
  else
    STOP_PG=0
    echo "test: PostgreSQL could not be started; its tests will be skipped (in CI they fail)" >&2
  fi
fi
if [ "$STOP_PG" = 1 ]; then
  trap 'bash scripts/postgres.sh stop || true' EXIT
fi
status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
