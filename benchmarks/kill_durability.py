"""Audit records acknowledged vs kept when the server is killed (kill -9) under load.

    .venv/bin/python benchmarks/kill_durability.py [--runs 10] [--clients 8] [--database-url URL]
                                                   [--min-seconds 1] [--max-seconds 3]

Starts `triage serve` (TRIAGE_MODEL_PROCESSES unset, as in production) on a free loopback port with
a fresh data directory and database (SQLite in the data directory by default; with a PostgreSQL
URL, a fresh database in that cluster, dropped afterwards). Then, per run: --clients threads send
POST /v1/triage without pause and note the X-Audit-Record-Key of every 200 answer; after a random
time between --min-seconds and --max-seconds the server gets SIGKILL (its model processes die
with it); the server is started again on the same data directory and database, and the script
waits (up to 60 s) until every acknowledged key is in `audit_records`. It prints per run the
answers, the acknowledged records found, the lost ones (acknowledged, not found) and the extra
ones (kept, not acknowledged: requests in flight at the kill), and a total. Exit code 1 when any
acknowledged record was lost.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    PASSTHROUGH, QUEUE_KEY, corpus_texts, free_port, fresh_database, server_env, start_server, stop_server,
)

WAIT_STORED_SECONDS = 60.0


def audit_server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """The production default (TRIAGE_MODEL_PROCESSES unset unless the caller set it), a queue key."""
    return server_env(PASSTHROUGH + ("TRIAGE_MODEL_PROCESSES",), TRIAGE_DATA_DIR=str(data_dir),
                      TRIAGE_DATABASE_URL=database_url, TRIAGE_API_KEYS=f"queue:{QUEUE_KEY}")


def load_until_killed(url: str, texts: list[str], clients: int, proc: subprocess.Popen,
                      kill_after: float) -> tuple[list[str], int, int]:
    """POST /v1/triage from `clients` threads until the server is killed after `kill_after` s.
    Returns (acknowledged keys, other answers, failed requests)."""
    import httpx

    acked: list[list[str]] = [[] for _ in range(clients)]
    other = [0] * clients
    failed = [0] * clients
    stop = threading.Event()

    def worker(k: int) -> None:
        rnd = random.Random(k)
        with httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {QUEUE_KEY}"}) as http:
            while not stop.is_set():
                try:
                    r = http.post("/v1/triage", json={"text": rnd.choice(texts)})
                except httpx.HTTPError:
                    failed[k] += 1
                    if proc.poll() is not None:
                        return
                    continue
                if r.status_code == 200:
                    acked[k].append(r.headers["x-audit-record-key"])
                else:
                    other[k] += 1

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    time.sleep(kill_after)
    proc.kill()  # SIGKILL
    proc.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    return [key for keys in acked for key in keys], sum(other), sum(failed)


def stored_keys(engine, keys: list[str]) -> set[str]:
    from sqlalchemy import text

    found: set[str] = set()
    with engine.connect() as conn:
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            params = {f"k{j}": key for j, key in enumerate(chunk)}
            sql = f"SELECT request_key FROM audit_records WHERE request_key IN ({', '.join(':' + p for p in params)})"
            found.update(row[0] for row in conn.execute(text(sql), params))
    return found


def triage_count(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_records WHERE source = 'triage'")).scalar_one()


def describe(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return f"SQLite {parsed.database} (WAL, synchronous=NORMAL)"
    engine = create_engine(url, hide_parameters=True)
    try:
        with engine.connect() as conn:
            settings = {name: conn.execute(text(f"SHOW {name}")).scalar_one()
                        for name in ("fsync", "synchronous_commit", "full_page_writes")}
    finally:
        engine.dispose()
    return f"PostgreSQL {parsed.host}:{parsed.port} ({', '.join(f'{k}={v}' for k, v in settings.items())})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url", help="default: SQLite in the temporary data directory; a PostgreSQL URL "
                                               "gets a fresh database in that cluster")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="load before the kill, at least")
    parser.add_argument("--max-seconds", type=float, default=3.0, help="load before the kill, at most")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine

    tmp = Path(tempfile.mkdtemp(prefix="triage-kill-"))
    data_dir = tmp / "data"
    url, drop = fresh_database(args.database_url or f"sqlite:///{data_dir / 'triage.sqlite3'}", "triage_kill")
    rnd = random.Random(args.seed)
    texts = corpus_texts(500)
    env = audit_server_env(data_dir, url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"database: {describe(url)}; {args.clients} clients; kill -9 after {args.min_seconds:g}-"
          f"{args.max_seconds:g} s of load; {args.runs} runs", flush=True)
    proc = start_server(env, port, tmp / "server.log", append=True)
    engine = create_engine(url, hide_parameters=True)
    totals = {"answered": 0, "found": 0, "lost": 0, "extra": 0}
    try:
        for run in range(1, args.runs + 1):
            before = triage_count(engine)
            acked, other, failed = load_until_killed(base, texts, args.clients, proc,
                                                     rnd.uniform(args.min_seconds, args.max_seconds))
            t0 = time.monotonic()
            proc = start_server(env, port, tmp / "server.log", append=True)
            restart = time.monotonic() - t0
            deadline = time.monotonic() + WAIT_STORED_SECONDS
            while True:
                found = stored_keys(engine, acked)
                if len(found) == len(acked) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            waited = time.monotonic() - t0 - restart
            extra = triage_count(engine) - before - len(found)
            lost = len(acked) - len(found)
            for key, value in (("answered", len(acked)), ("found", len(found)), ("lost", lost), ("extra", extra)):
                totals[key] += value
            print(f"run {run:2d}: acknowledged {len(acked):5d}  in database {len(found):5d}  lost {lost:3d}  "
                  f"extra {extra:2d}  (other answers {other}, cut off by the kill {failed}; restart "
                  f"{restart:.1f} s, all stored {waited:.1f} s after it)", flush=True)
    finally:
        stop_server(proc, timeout=20)
        engine.dispose()
        drop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"total: {args.runs} kills, {totals['answered']} acknowledged, {totals['found']} in the database, "
          f"{totals['lost']} lost, {totals['extra']} extra (in flight at a kill)", flush=True)
    return 1 if totals["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
