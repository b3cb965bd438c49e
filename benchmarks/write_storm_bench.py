"""Do writes make reads wait? GET /v1/queue under a storm of chat writes, and POST /v1/chats latency.

    .venv/bin/python benchmarks/write_storm_bench.py [--database sqlite,postgres] [--postgres-url URL]
                                                     [--rounds 3] [--writers 40] [--seconds 20]
                                                     [--create-clients 8] [--creates 400]

For each database it starts `triage serve` (a subprocess on a free loopback port, fresh data
directory; on PostgreSQL a fresh database created in the cluster of --postgres-url or
TRIAGE_TEST_POSTGRES_URL, dropped afterwards), then per round:
  * storm: --writers clients (threads, one keep-alive connection each) each create a chat
    (POST /v1/chats) and send it two further client messages (POST /v1/chats/{id}/messages), over
    and over for --seconds, while one advisor reads GET /v1/queue in a loop (20 ms apart):
    queue read p50/p99 and max, write p50/p99, 5xx count and other non-2xx count;
  * creates: --create-clients clients send --creates POST /v1/chats in all: p50/p99, with the
    number of chats waiting when the phase starts (a chat's answer places it in the queue), and
    the CPU time per request of the server process and of its model process(es) (from /proc), which
    says how much of the latency is waiting for cores that other work holds.
Figures are printed per round and as medians over rounds. Targets (issue 13, item 3): queue read
p99 < 500 ms during the storm with no 5xx; POST /v1/chats p99 <= 150 ms at 8 clients.

Client and server share the machine's cores (and, on the shared development machine, with other
work): the figures are for this machine as loaded at the time. Every request goes to 127.0.0.1.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    ADVISOR_KEY, QUEUE_KEY, corpus_texts, free_port, fresh_database, pct, run_clients, server_env, start_server,
    stop_server,
)

QUEUE_POLL_PAUSE = 0.02


def texts(limit: int = 1500) -> list[str]:
    """Short openers (a quarter of the service's limit), so that writes, not the model, are measured."""
    from triage.labels import MAX_TEXT_CHARS

    return corpus_texts(limit, max_chars=MAX_TEXT_CHARS // 4, seed=5)


class Server:
    def __init__(self, database_url: str, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / "server.log"
        self.env = server_env(TRIAGE_DATA_DIR=str(data_dir), TRIAGE_DATABASE_URL=database_url,
                              TRIAGE_API_KEYS=f"queue:{QUEUE_KEY},advisor:{ADVISOR_KEY}")
        self.proc = None

    def __enter__(self) -> "Server":
        self.proc = start_server(self.env, self.port, self.log_path, timeout=300)
        return self

    def __exit__(self, *_exc) -> None:
        if self.proc:
            stop_server(self.proc, timeout=15)


class Tally:
    """Latencies and status counts from many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.server_errors = 0
        self.other_errors = 0
        self.statuses: dict[int, int] = {}

    def add(self, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500:
                self.server_errors += 1
            elif status >= 300:
                self.other_errors += 1


def timed(tally: Tally, call) -> object | None:
    import httpx

    t0 = time.perf_counter()
    try:
        response = call()
    except httpx.HTTPError:
        tally.add(time.perf_counter() - t0, 599)  # timeout or broken connection: counted as a 5xx
        return None
    tally.add(time.perf_counter() - t0, response.status_code)
    return response


def storm(url: str, corpus: list[str], writers: int, seconds: float, tag: str) -> dict:
    import httpx

    writes, reads = Tally(), Tally()
    stop = threading.Event()
    barrier = threading.Barrier(writers + 1)

    def writer(k: int) -> None:
        rnd = random.Random(k)
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {QUEUE_KEY}"}) as http:
            barrier.wait()
            n = 0
            while not stop.is_set():
                chat_id = f"{tag}-w{k}-{n}"
                n += 1
                created = timed(writes, lambda: http.post("/v1/chats", json={"chat_id": chat_id,
                                                                             "text": rnd.choice(corpus)}))
                if created is None or created.status_code >= 300:
                    continue
                for _ in range(2):
                    if stop.is_set():
                        break
                    timed(writes, lambda: http.post(f"/v1/chats/{chat_id}/messages",
                                                    json={"text": rnd.choice(corpus)}))

    def reader() -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {ADVISOR_KEY}"}) as http:
            barrier.wait()
            while not stop.is_set():
                timed(reads, lambda: http.get("/v1/queue"))
                time.sleep(QUEUE_POLL_PAUSE)

    threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(writers)]
    threads.append(threading.Thread(target=reader, daemon=True))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    return {
        "queue_p50_ms": pct(reads.latencies, 50) * 1000, "queue_p99_ms": pct(reads.latencies, 99) * 1000,
        "queue_max_ms": max(reads.latencies, default=float("nan")) * 1000, "queue_reads": len(reads.latencies),
        "write_p50_ms": pct(writes.latencies, 50) * 1000, "write_p99_ms": pct(writes.latencies, 99) * 1000,
        "writes": len(writes.latencies), "5xx": writes.server_errors + reads.server_errors,
        "other_non_2xx": writes.other_errors + reads.other_errors,
        "statuses": {**{f"w{k}": v for k, v in writes.statuses.items()}, **{f"r{k}": v for k, v in reads.statuses.items()}},
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return out


def creates(url: str, corpus: list[str], clients: int, total: int, tag: str, pid: int | None = None) -> dict:
    import httpx

    waiting = httpx.get(url + "/v1/queue", headers={"Authorization": f"Bearer {ADVISOR_KEY}"}, timeout=60).json()["count"]
    children = child_pids(pid) if pid else []
    cpu0 = [cpu_seconds(p) for p in (pid, *children)] if pid else []
    tally = Tally()
    per_client = max(1, total // clients)
    barrier = threading.Barrier(clients)

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {QUEUE_KEY}"}) as http:
            barrier.wait()
            for j in range(per_client):
                body = {"chat_id": f"{tag}-c{k}-{j}", "text": corpus[(k * per_client + j) % len(corpus)]}
                timed(tally, lambda: http.post("/v1/chats", json=body))

    wall = run_clients(client, clients)
    n = max(1, len(tally.latencies))
    cpu = [cpu_seconds(p) - c for p, c in zip((pid, *children), cpu0)] if pid else [float("nan"), float("nan")]
    return {"create_p50_ms": pct(tally.latencies, 50) * 1000, "create_p99_ms": pct(tally.latencies, 99) * 1000,
            "create_rps": len(tally.latencies) / wall, "create_errors": tally.server_errors + tally.other_errors,
            "waiting": waiting, "server_cpu_ms": cpu[0] / n * 1000, "model_cpu_ms": sum(cpu[1:]) / n * 1000}


def run_database(name: str, database_url: str, args, corpus: list[str], tmp: Path) -> str:
    data_dir = tmp / name / "data"
    data_dir.mkdir(parents=True)
    rounds = []
    with Server(database_url, data_dir) as server:
        creates(server.url, corpus, 4, 40, f"{name}-warm")
        for r in range(args.rounds):
            res = storm(server.url, corpus, args.writers, args.seconds, f"{name}-r{r}")
            res.update(creates(server.url, corpus, args.create_clients, args.creates, f"{name}-r{r}",
                               server.proc.pid))
            rounds.append(res)
            print(f"{name} round {r + 1}: storm ({args.writers} writers, {args.seconds:.0f} s): GET /v1/queue "
                  f"p50 {res['queue_p50_ms']:.0f} ms, p99 {res['queue_p99_ms']:.0f} ms, max {res['queue_max_ms']:.0f} "
                  f"ms ({res['queue_reads']} reads) | writes p50 {res['write_p50_ms']:.0f} ms, p99 "
                  f"{res['write_p99_ms']:.0f} ms ({res['writes']}) | 5xx {res['5xx']}, other non-2xx "
                  f"{res['other_non_2xx']} {res['statuses']} || POST /v1/chats, {args.create_clients} clients: "
                  f"p50 {res['create_p50_ms']:.0f} ms, p99 {res['create_p99_ms']:.0f} ms, "
                  f"{res['create_rps']:.0f}/s, errors {res['create_errors']}, {res['waiting']} waiting; CPU per "
                  f"request: server {res['server_cpu_ms']:.1f} ms, model processes {res['model_cpu_ms']:.1f} ms",
                  flush=True)
    numeric = [k for k in rounds[0] if k != "statuses"]
    med = {k: statistics.median(r[k] for r in rounds) for k in numeric}
    ok = lambda cond: "ok" if cond else "MISSED"  # noqa: E731
    total_5xx = sum(r["5xx"] for r in rounds)
    return "\n".join([
        f"{name}: medians over {len(rounds)} rounds ({os.cpu_count()} cores shared by server, clients and other work)",
        f"  GET /v1/queue during the storm     p50 {med['queue_p50_ms']:7.1f} ms   p99 {med['queue_p99_ms']:7.1f} ms"
        f"   max {med['queue_max_ms']:7.1f} ms   target p99 < 500 ms: {ok(med['queue_p99_ms'] < 500)}",
        f"  writes during the storm            p50 {med['write_p50_ms']:7.1f} ms   p99 {med['write_p99_ms']:7.1f} ms"
        f"   {med['writes']:.0f} per round",
        f"  5xx in all rounds                  {total_5xx}   target 0: {ok(total_5xx == 0)}",
        f"  POST /v1/chats, {args.create_clients} clients          p50 {med['create_p50_ms']:7.1f} ms   p99 "
        f"{med['create_p99_ms']:7.1f} ms   {med['create_rps']:.0f}/s   target p99 <= 150 ms: "
        f"{ok(med['create_p99_ms'] <= 150)}",
        f"    with {med['waiting']:.0f} chats waiting; CPU per request: server process {med['server_cpu_ms']:.1f} ms, "
        f"model processes {med['model_cpu_ms']:.1f} ms",
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--postgres-url", default=os.environ.get("TRIAGE_TEST_POSTGRES_URL", ""),
                        help="a PostgreSQL cluster to create a fresh database in (default TRIAGE_TEST_POSTGRES_URL)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each storm")
    parser.add_argument("--create-clients", type=int, default=8)
    parser.add_argument("--creates", type=int, default=400, help="POST /v1/chats per round in the create phase")
    args = parser.parse_args(argv)

    corpus = texts()
    tmp = Path(tempfile.mkdtemp(prefix="triage-storm-bench-"))
    summaries = []
    for name in [d.strip() for d in args.database.split(",") if d.strip()]:
        if name == "sqlite":
            summaries.append(run_database(name, f"sqlite:///{tmp / 'sqlite' / 'data' / 'triage.sqlite3'}", args,
                                          corpus, tmp))
        elif name == "postgres":
            if not args.postgres_url:
                print("postgres: skipped (no --postgres-url and no TRIAGE_TEST_POSTGRES_URL)", flush=True)
                continue
            url, drop = fresh_database(args.postgres_url, "triage_storm")
            try:
                summaries.append(run_database(name, url, args, corpus, tmp))
            finally:
                drop()
        else:
            parser.error(f"unknown database '{name}'")
    print()
    print("\n".join(summaries), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
