"""A database outage under load: what POST /v1/triage, /healthz and /readyz do, and whether every
acknowledged audit record reaches the database afterwards.

    .venv/bin/python benchmarks/db_outage.py                          # SQLite: a held write lock
    .venv/bin/python benchmarks/db_outage.py --postgres-dir DIR       # PostgreSQL: the cluster stopped

PostgreSQL: DIR is the TRIAGE_PG_DIR of a THROWAWAY cluster of your own, started with
`TRIAGE_PG_DIR=DIR scripts/postgres.sh start --durable`; this script stops and starts that cluster
(never point it at a cluster others use; the default test cluster's directory is refused).
SQLite: another process holds the database's write lock for the outage (as a hung writer would).

Starts `triage serve` (defaults, a fresh data directory and database, the audit outbox bounded to
--outbox-mb so that it fills during the outage), then: --clients threads send POST /v1/triage
without pause while a probe calls /healthz every 50 ms and /readyz every second, through three
phases: before (--before s), outage (--outage s), after (3 s once the database is back; then the
script waits, at most 60 s, until every acknowledged record is stored). It prints per phase the answers (200 / 503), their
p50 / p99, the /healthz p50 / p99 / max, the /readyz statuses and reasons seen, and at the end
the acknowledged records found in the database.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    QUEUE_KEY, ROOT, corpus_texts, free_port, fresh_database, pct, start_server, stop_server,
)
from benchmarks.kill_durability import audit_server_env, stored_keys  # noqa: E402


class Recorder:
    def __init__(self):
        self.phase = "before"
        self.lock = threading.Lock()
        self.triage: list[tuple[str, int, float]] = []   # (phase, status, seconds)
        self.health: list[tuple[str, float]] = []
        self.ready: Counter = Counter()
        self.acked: list[str] = []

    def add_triage(self, status: int, seconds: float, key: str | None) -> None:
        with self.lock:
            self.triage.append((self.phase, status, seconds))
            if key:
                self.acked.append(key)


def clients(url: str, texts: list[str], n: int, rec: Recorder, stop: threading.Event) -> list[threading.Thread]:
    import httpx

    def worker(k: int) -> None:
        with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {QUEUE_KEY}"}) as http:
            i = k
            while not stop.is_set():
                i += n
                t0 = time.perf_counter()
                r = http.post("/v1/triage", json={"text": texts[i % len(texts)]})
                took = time.perf_counter() - t0
                rec.add_triage(r.status_code, took, r.headers.get("x-audit-record-key") if r.status_code == 200 else None)
                if r.status_code == 503:
                    time.sleep(0.05)  # as a client honouring Retry-After would, a little

    return [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(n)]


def probe(url: str, rec: Recorder, stop: threading.Event) -> threading.Thread:
    import httpx

    def run() -> None:
        next_ready = 0.0
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                t0 = time.perf_counter()
                http.get("/healthz")
                rec.health.append((rec.phase, time.perf_counter() - t0))
                if time.monotonic() >= next_ready:
                    r = http.get("/readyz").json()
                    checks = r["checks"]
                    rec.ready[(rec.phase, r["status"], f"database: {checks['database']}",
                               f"audit: {checks['audit'].split(' (')[0].split(';')[0]}")] += 1
                    next_ready = time.monotonic() + 1.0
                time.sleep(0.05)

    return threading.Thread(target=run, daemon=True)


class SqliteOutage:
    def __init__(self, path: str):
        self.path = path
        self.conn = None

    def stop(self) -> None:
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.execute("BEGIN EXCLUSIVE")

    def start(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


class PostgresOutage:
    def __init__(self, pg_dir: Path):
        self.env = {**os.environ, "TRIAGE_PG_DIR": str(pg_dir)}

    def _run(self, action: str) -> None:
        subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), action, "--durable"], env=self.env,
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self._run("stop")

    def start(self) -> None:
        self._run("start")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-dir", type=Path, help="TRIAGE_PG_DIR of a throwaway cluster of your own")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--before", type=float, default=5.0)
    parser.add_argument("--outage", type=float, default=20.0)
    parser.add_argument("--outbox-mb", type=float, default=0.5, help="TRIAGE_AUDIT_OUTBOX_MAX_MB for the run")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="triage-outage-"))
    data_dir = tmp / "data"
    if args.postgres_dir:
        shared = Path(os.environ.get("TMPDIR", "/tmp")) / f"triage-postgres-{pwd.getpwuid(os.getuid()).pw_name}"
        if args.postgres_dir.resolve() == shared.resolve():
            raise SystemExit(f"{args.postgres_dir} is the shared test cluster: give a throwaway cluster of your own")
        url_out = subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "url"], capture_output=True, text=True,
                                 env={**os.environ, "TRIAGE_PG_DIR": str(args.postgres_dir)}, check=True)
        url, drop = fresh_database(url_out.stdout.strip(), "triage_kill")
        outage = PostgresOutage(args.postgres_dir)
        what = "PostgreSQL cluster stopped"
    else:
        url, drop = f"sqlite:///{data_dir / 'triage.sqlite3'}", (lambda: None)
        outage = SqliteOutage(str(data_dir / "triage.sqlite3"))
        what = "SQLite write lock held by another process"
    env = audit_server_env(data_dir, url)
    env["TRIAGE_AUDIT_OUTBOX_MAX_MB"] = str(args.outbox_mb)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(env, port, tmp / "server.log", append=True)
    rec, stop = Recorder(), threading.Event()
    threads = clients(base, corpus_texts(500), args.clients, rec, stop) + [probe(base, rec, stop)]
    from sqlalchemy import create_engine

    engine = None
    try:
        for t in threads:
            t.start()
        time.sleep(args.before)
        rec.phase = "outage"
        outage.stop()
        time.sleep(args.outage)
        rec.phase = "after"
        t0 = time.monotonic()
        outage.start()
        engine = create_engine(url, hide_parameters=True)
        time.sleep(3.0)  # answers once the database is back
        stop.set()
        for t in threads:
            t.join(30)
        deadline = time.monotonic() + 60
        while len(stored_keys(engine, rec.acked)) < len(rec.acked) and time.monotonic() < deadline:
            time.sleep(0.5)
        caught_up = time.monotonic() - t0
        found = stored_keys(engine, rec.acked)
    finally:
        stop.set()
        stop_server(proc, timeout=30)
        if engine is not None:
            engine.dispose()
        drop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"outage: {what} for {args.outage:g} s; {args.clients} clients; audit outbox bound {args.outbox_mb:g} MB")
    for phase in ("before", "outage", "after"):
        answers = [(s, t) for p, s, t in rec.triage if p == phase]
        ok = [t for s, t in answers if s == 200]
        refused = [t for s, t in answers if s == 503]
        other = len(answers) - len(ok) - len(refused)
        health = [t for p, t in rec.health if p == phase]
        line = f"{phase:>7}: POST /v1/triage 200 x{len(ok)}"
        if ok:
            line += f" (p50 {pct(ok, 50) * 1000:.0f} ms, p99 {pct(ok, 99) * 1000:.0f} ms)"
        line += f", 503 x{len(refused)}"
        if refused:
            line += f" (p50 {pct(refused, 50) * 1000:.1f} ms, p99 {pct(refused, 99) * 1000:.1f} ms)"
        line += f", other x{other}"
        if health:
            line += (f" | /healthz p50 {pct(health, 50) * 1000:.1f} ms, p99 {pct(health, 99) * 1000:.1f} ms, "
                     f"max {max(health) * 1000:.1f} ms")
        print(line)
        for (p, status, database, audit), n in sorted(rec.ready.items()):
            if p == phase:
                print(f"         /readyz x{n}: {status}; {database}; {audit}")
    print(f"acknowledged {len(rec.acked)}, in the database {len(found)}, lost {len(rec.acked) - len(found)} "
          f"(all stored {caught_up:.1f} s after the database came back)")
    return 1 if len(found) < len(rec.acked) else 0


if __name__ == "__main__":
    sys.exit(main())
