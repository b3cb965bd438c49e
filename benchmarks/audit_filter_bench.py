"""What the reviewers' filters cost on a filled audit table: AuditStore.list (a page of 50 and the
total) and AuditStore.stats on ~20k records, some of them reviewed.

    .venv/bin/python benchmarks/audit_filter_bench.py [--records 20000] [--reviews 1000] [--runs 15]
                                                      [--database-url URL]

In-process, a fresh SQLite file (or, with --database-url, a fresh PostgreSQL database next to it).
Records are built by AuditStore.build from synthetic predictions (labels and scores drawn with a
fixed seed, one pre-made redaction), reviews go through AuditStore.review. Prints the median and
p90 in ms per query over --runs runs after one warm-up run (PostgreSQL: after VACUUM ANALYZE, the
steady state autovacuum keeps).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXT = "ik word thuis geslagen door mijn vriend en ik durf niet meer naar huis"


def _prediction(rng: random.Random) -> dict:
    from triage.labels import ROLES, TOPICS, URGENCIES

    def dist(labels):
        weights = [rng.random() ** 3 for _ in labels]
        total = sum(weights)
        return {label: w / total for label, w in zip(labels, weights)}

    role, urgency = dist(ROLES), dist(URGENCIES)
    p_minor = rng.random()
    topics = {t: rng.random() ** 2 for t in TOPICS}
    return {"role": max(role, key=role.get), "minor": p_minor >= 0.5, "urgency": max(urgency, key=urgency.get),
            "topics": [t for t, p in topics.items() if p >= 0.5],
            "scores": {"role": role, "urgency": urgency, "minor": {"true": p_minor, "false": 1 - p_minor},
                       "topics": topics},
            "red_flags": [], "explanation": {}, "needs_review": rng.random() < 0.2, "review_reasons": [],
            "model_version": rng.choice(["v1", "v2"]), "spacy_pipeline": "bench"}


def fill(store, records: int, reviews: int, seed: int = 11) -> None:
    from triage.redact import redact

    rng = random.Random(seed)
    redaction = redact(TEXT)
    batch = []
    for i in range(records):
        batch.append(store.build(TEXT, _prediction(rng), [], source="triage", request_key=uuid.uuid4().hex,
                                 redaction=redaction))
        if len(batch) == 1000 or i == records - 1:
            with store.db.write() as session:
                for values in batch:
                    store.add(session, values)
            batch = []
    for record_id in rng.sample(range(1, records + 1), reviews):
        body = SimpleNamespace(role_ok=True, minor_ok=True, urgency_ok=True, corrected=None, note=None)
        store.review(record_id, body, reviewer="bench-a", reviewer_name=None)


def measure(store, runs: int) -> dict[str, dict[str, float]]:
    from api.audit import AuditFilters

    queries = {
        "list role=victim": lambda: store.list(AuditFilters(role="victim")),
        "list urgency=acute minor=true": lambda: store.list(AuditFilters(urgency="acute", minor=True)),
        "list low_confidence=true": lambda: store.list(AuditFilters(low_confidence=True)),
        "list reviewed=true role=victim": lambda: store.list(AuditFilters(reviewed=True, role="victim")),
        "list reviewed=false": lambda: store.list(AuditFilters(reviewed=False)),
        "stats (all)": lambda: store.stats(AuditFilters()),
    }
    out = {}
    for name, query in queries.items():
        query()  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            query()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        out[name] = {"median_ms": round(statistics.median(times), 2),
                     "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--reviews", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from api.audit import AuditStore
    from api.db import migrate
    from api.db.session import Database
    from benchmarks.common import fresh_database

    with tempfile.TemporaryDirectory() as tmp:
        url, drop = (fresh_database(args.database_url) if args.database_url
                     else (f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", lambda: None))
        db = Database(url)
        try:
            migrate.upgrade(db)
            store = AuditStore(db, SimpleNamespace(store_raw_text=False))
            start = time.perf_counter()
            fill(store, args.records, args.reviews)
            filled = time.perf_counter() - start
            if db.dialect == "postgresql":  # the steady state autovacuum keeps: visibility map, statistics
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE")
            result = {"database": db.dialect, "records": args.records, "reviews": args.reviews,
                      "fill_s": round(filled, 1), "queries": measure(store, args.runs)}
        finally:
            db.dispose()
            drop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
