"""Latency and throughput of the triage API over HTTP, next to the model's own time, in one run.

    .venv/bin/python benchmarks/api_bench.py [--rounds 3] [--requests 2000] [--clients 8]
                                             [--queue-size 1000] [--database-url URL]
                                             [--model-processes default,0] [--workers 1]

For each --model-processes setting (default: `default`, TRIAGE_MODEL_PROCESSES unset as in
production, i.e. one model process per core but one; and 0, predictions in the server process) it starts
`triage serve` on a free loopback port with a fresh data directory, then per round:
  * POST /v1/triage from --clients concurrent clients (threads, one keep-alive httpx client each):
    p50 / p99 latency and throughput;
  * POST /v1/triage from one client: p50, minus the model's median = HTTP + auth overhead;
  * GET /v1/queue with --queue-size waiting chats: median / p99.
In the same process it measures model.predict_one (median over the same texts) and rank() on the
same queue. Figures are medians over rounds. Targets on the 2-core machine: p99 <= 50 ms at 8
clients; overhead at p50 <= the model time; GET /v1/queue (1,000 waiting) <= 20 ms.

The waiting chats are written straight into the database with the service's own triage code
(POST /v1/chats for 1,000 chats would take minutes and measures nothing new). Every request goes
to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    ADVISOR_KEY, QUEUE_KEY, corpus_texts, free_port, pct, run_clients, server_env, start_server, stop_server,
)


def seed_queue(settings, model, cards, n: int, texts: list[str]) -> None:
    """n waiting chats, triaged with the service's own code, written in one transaction."""
    from api.chats.service import ChatService
    from api.db import migrate
    from api.db.models import Chat, ChatMessage
    from api.db.session import Database
    from api.predictions.service import Triager

    db = Database(settings.resolved_database_url)
    migrate.upgrade(db)
    service = ChatService(db, Triager(model, cards), settings)
    now = datetime.now(timezone.utc)
    rnd = random.Random(11)
    rows, messages = [], []
    for i in range(n):
        text = texts[i % len(texts)]
        result = service._triage([text], None)
        received = now - timedelta(seconds=rnd.randint(0, 3 * 3600))
        values = ChatService._apply(dict(chat_id=f"bench-{i:05d}", status="waiting", received_at=received,
                                         created_at=now, updated_at=now, version=1, message_count=1,
                                         raw_preview=" ".join(text.split())[:80]), result)
        rows.append(Chat(**values))
        messages.append(ChatMessage(chat_id=values["chat_id"], seq=1, received_at=received, chars=len(text),
                                    raw_text=text))
    with db.write() as session:
        session.add_all(rows)
        session.flush()
        session.add_all(messages)
    db.dispose()


def drive(url: str, texts: list[str], n_requests: int, clients: int) -> tuple[list[float], float, int]:
    """n_requests POST /v1/triage from `clients` threads; (latencies in s, wall seconds, errors)."""
    import httpx

    per_client = max(1, n_requests // clients)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients)

    def worker(k: int) -> None:
        headers = {"Authorization": f"Bearer {QUEUE_KEY}"}
        with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
            barrier.wait()
            for j in range(per_client):
                body = {"text": texts[(k * per_client + j) % len(texts)]}
                t0 = time.perf_counter()
                r = http.post("/v1/triage", json=body)
                latencies[k].append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[k] += 1

    wall = run_clients(worker, clients)
    return [x for lat in latencies for x in lat], wall, sum(errors)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000,
                        help="POST /v1/triage per concurrent round (2,000: p99 is then the 20th slowest)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--queue-size", type=int, default=1000)
    parser.add_argument("--queue-requests", type=int, default=60, help="GET /v1/queue per round")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary data directory")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("TRIAGE_WORKERS", "1")),
                        help="uvicorn worker processes (TRIAGE_WORKERS)")
    parser.add_argument("--model-processes", default=os.environ.get("TRIAGE_MODEL_PROCESSES", "default,0"),
                        help="model processes behind the server (TRIAGE_MODEL_PROCESSES); a comma-separated "
                             "list benchmarks each (default 'default,0': the server's default, one per core but one, "
                             "and predictions in the server process)")
    args = parser.parse_args(argv)

    from api.settings import ApiSettings
    from triage.guidance import load_cards
    from triage.model import TriageModel

    texts = corpus_texts(2000)
    model = TriageModel.load()
    cards = load_cards()
    tmp = Path(tempfile.mkdtemp(prefix="triage-api-bench-"))
    settings = ApiSettings(data_dir=tmp / "data", database_url=args.database_url,
                           api_keys=f"queue:{QUEUE_KEY},advisor:{ADVISOR_KEY}")
    print(f"model {model.version} ({model.pipeline_label}); {len(texts)} corpus texts; "
          f"database {settings.resolved_database_url.split('@')[-1]}", flush=True)
    t0 = time.perf_counter()
    seed_queue(settings, model, cards, args.queue_size, texts)
    print(f"seeded {args.queue_size} waiting chats in {time.perf_counter() - t0:.1f} s", flush=True)

    configs = [None if x.strip() == "default" else int(x) for x in str(args.model_processes).split(",") if x.strip()]
    summaries = [run_config(args, settings, model, texts, tmp, processes) for processes in configs]
    print()
    print("summary (medians over rounds)")
    for line in summaries:
        print(line)
    return 0


def run_config(args, settings, model, texts, tmp, model_processes: int | None) -> str:
    import httpx

    from triage.queue import QueueItem, rank

    env = server_env(TRIAGE_DATA_DIR=str(settings.data_dir), TRIAGE_API_KEYS=settings.api_keys,
                     TRIAGE_DATABASE_URL=settings.resolved_database_url, TRIAGE_WORKERS=str(args.workers))
    if model_processes is not None:
        env["TRIAGE_MODEL_PROCESSES"] = str(model_processes)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(env, port, tmp / "server.log")
    rounds = []
    try:
        drive(url, texts, 80, args.clients)  # warm-up
        queue_items = None
        for r in range(args.rounds):
            sample = texts[:400]
            model_times = []
            for text in sample:
                t = time.perf_counter()
                model.predict_one(text)
                model_times.append(time.perf_counter() - t)
            lat, wall, errors = drive(url, texts[r * 37:], args.requests, args.clients)
            seq, _, seq_errors = drive(url, texts[r * 53:], max(100, args.requests // 4), 1)
            q_lat = []
            with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {ADVISOR_KEY}"}) as http:
                for _ in range(args.queue_requests):
                    t = time.perf_counter()
                    response = http.get("/v1/queue")
                    q_lat.append(time.perf_counter() - t)
                    assert response.status_code == 200 and response.json()["count"] == args.queue_size
                    queue_items = response.json()["items"]
            now = datetime.now(timezone.utc)
            items = [QueueItem(i["chat_id"], i["triage"]["urgency"], i["triage"]["minor"],
                               datetime.fromisoformat(i["received_at"].replace("Z", "+00:00")),
                               i["triage"]["needs_review"]) for i in queue_items]
            rank_times = []
            for _ in range(5):
                t = time.perf_counter()
                rank(items, now)
                rank_times.append(time.perf_counter() - t)
            res = {
                "model_ms": statistics.median(model_times) * 1000,
                "p50_ms": pct(lat, 50) * 1000, "p99_ms": pct(lat, 99) * 1000,
                "rps": len(lat) / wall, "errors": errors + seq_errors,
                "seq_p50_ms": pct(seq, 50) * 1000,
                "queue_p50_ms": pct(q_lat, 50) * 1000, "queue_p99_ms": pct(q_lat, 99) * 1000,
                "rank_ms": statistics.median(rank_times) * 1000,
            }
            res["overhead_ms"] = res["seq_p50_ms"] - res["model_ms"]
            rounds.append(res)
            print(f"round {r + 1}: model {res['model_ms']:.2f} ms | {args.clients} clients: p50 {res['p50_ms']:.1f} "
                  f"ms, p99 {res['p99_ms']:.1f} ms, {res['rps']:.0f} req/s | 1 client: p50 {res['seq_p50_ms']:.2f} "
                  f"ms | GET /v1/queue ({args.queue_size}): p50 {res['queue_p50_ms']:.1f} ms, p99 "
                  f"{res['queue_p99_ms']:.1f} ms (rank() alone {res['rank_ms']:.1f} ms) | errors {res['errors']}",
                  flush=True)
    finally:
        stop_server(proc, timeout=15)

    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    ok = lambda cond: "ok" if cond else "MISSED"  # noqa: E731
    summary = "\n".join([
        f"TRIAGE_MODEL_PROCESSES={'unset (' + str(settings.model_copy(update={'workers': args.workers}).resolved_model_processes) + ')' if model_processes is None else model_processes} "
        f"({args.workers} uvicorn process(es)); {len(rounds)} rounds; "
        f"{os.cpu_count()} cores shared by server and clients",
        f"  model.predict_one (in-process)       {med['model_ms']:7.2f} ms",
        f"  POST /v1/triage, {args.clients} clients        p50 {med['p50_ms']:7.2f} ms   p99 {med['p99_ms']:7.2f} ms"
        f"   {med['rps']:.0f} req/s   target p99 <= 50 ms: {ok(med['p99_ms'] <= 50)}",
        f"  POST /v1/triage, 1 client           p50 {med['seq_p50_ms']:7.2f} ms   overhead (p50 - model) "
        f"{med['overhead_ms']:.2f} ms   target <= model time: {ok(med['overhead_ms'] <= med['model_ms'])}",
        f"  GET /v1/queue, {args.queue_size} waiting       p50 {med['queue_p50_ms']:7.2f} ms   p99 "
        f"{med['queue_p99_ms']:7.2f} ms   target <= 20 ms: {ok(med['queue_p50_ms'] <= 20)}",
        f"    of which triage.queue.rank()       {med['rank_ms']:7.2f} ms (in-process, same items)",
        f"  errors                               {int(med['errors'])}",
    ])
    print(summary + "\n", flush=True)
    return summary

if __name__ == "__main__":
    sys.exit(main())
