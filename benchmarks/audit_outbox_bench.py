"""What durability adds to a POST /v1/triage answer: the wait for its audit record to be redacted,
appended to the outbox and fsynced (api/audit/writer.py), measured alone.

    .venv/bin/python benchmarks/audit_outbox_bench.py [--rounds 5] [--records 2000] [--clients 8]
                                                      [--interval 0.025]

In one process, with the real redaction and a SQLite database in a temporary directory: per
round, --clients coroutines on one event loop each await AuditWriter.write() for real predictions
of corpus texts (made beforehand), --records in all, pausing --interval seconds between two of
their own (the rest of a request: at 8 clients the server answers ~300 requests/s, ~25 ms each;
0 saturates the journal thread). Prints per round and as
medians over rounds: the wait's p50 / p99, records per second, the records per fsync (group
commit), and AuditStore.build() alone (the redaction every record needs anyway). The drain to
the database runs meanwhile, as in the server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import corpus_texts, pct  # noqa: E402


async def one_round(writer, items, n_records: int, clients: int, interval: float) -> tuple[list[float], float]:
    waits: list[float] = []
    per_client = n_records // clients

    async def client(k: int) -> None:
        for j in range(per_client):
            text, prediction, guidance = items[(k * per_client + j) % len(items)]
            t0 = time.perf_counter()
            await writer.write(text, prediction, guidance, source="triage", request_key=uuid.uuid4().hex)
            waits.append(time.perf_counter() - t0)
            if interval:
                await asyncio.sleep(interval)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return waits, time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.025)
    args = parser.parse_args(argv)

    import api.audit.writer as audit_writer
    from api.audit import AuditStore
    from api.audit.writer import AuditWriter
    from api.db import migrate
    from api.db.session import Database
    from api.settings import ApiSettings
    from api.predictions.service import Triager
    from triage.guidance import load_cards
    from triage.model import TriageModel

    tmp = Path(tempfile.mkdtemp(prefix="triage-outbox-bench-"))
    settings = ApiSettings(data_dir=tmp)
    db = Database(settings.resolved_database_url)
    migrate.upgrade(db)
    store = AuditStore(db, settings)
    triager = Triager(TriageModel.load(), load_cards())
    items = [(t, *triager.triage(t)) for t in corpus_texts(400)]
    builds = []
    for text, prediction, guidance in items:
        t0 = time.perf_counter()
        store.build(text, prediction, guidance, source="triage", request_key="x" * 32)
        builds.append(time.perf_counter() - t0)

    fsyncs = [0]
    real_fdatasync = audit_writer.os.fdatasync

    def counting_fdatasync(fd):
        fsyncs[0] += 1
        real_fdatasync(fd)

    audit_writer.os.fdatasync = counting_fdatasync
    writer = AuditWriter(store, tmp / "audit-outbox")
    rounds = []
    try:
        for r in range(args.rounds):
            before = fsyncs[0]
            waits, wall = asyncio.run(one_round(writer, items, args.records, args.clients, args.interval))
            res = {"p50_ms": pct(waits, 50) * 1000, "p99_ms": pct(waits, 99) * 1000, "rps": len(waits) / wall,
                   "per_fsync": len(waits) / max(1, fsyncs[0] - before)}
            rounds.append(res)
            print(f"round {r + 1}: wait p50 {res['p50_ms']:.2f} ms, p99 {res['p99_ms']:.2f} ms, "
                  f"{res['rps']:.0f} records/s, {res['per_fsync']:.1f} records per fsync", flush=True)
        writer.flush(60)
    finally:
        writer.close()
        db.dispose()
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"medians over {len(rounds)} rounds, {args.clients} concurrent writers, {args.interval * 1000:g} ms apart: wait for durability p50 "
          f"{med['p50_ms']:.2f} ms, p99 {med['p99_ms']:.2f} ms; {med['rps']:.0f} records/s; "
          f"{med['per_fsync']:.1f} records per fsync; AuditStore.build() alone {statistics.median(builds) * 1000:.2f} ms "
          "(median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
