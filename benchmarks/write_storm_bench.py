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
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUEUE_KEY = "storm-queue-key-" + "q" * 24
ADVISOR_KEY = "storm-advisor-key-" + "a" * 24
QUEUE_POLL_PAUSE = 0.02


def texts(limit: int = 1500) -> list[str]:
    from triage.labels import MAX_TEXT_CHARS

    out = []
    for path in sorted((ROOT / "training" / "data" / "seed").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line)["text"]
                if text.strip() and len(text) <= MAX_TEXT_CHARS // 4:
                    out.append(text)
    random.Random(5).shuffle(out)
    return out[:limit]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_postgres(base_url: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    name = f"triage_storm_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", hide_parameters=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


class Server:
    def __init__(self, database_url: str, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
        env.update(TRIAGE_DATA_DIR=str(data_dir), TRIAGE_DATABASE_URL=database_url, TRIAGE_LOG_LEVEL="warning",
                   TRIAGE_API_KEYS=f"queue:{QUEUE_KEY},advisor:{ADVISOR_KEY}")
        for name in ("TRIAGE_SPACY_MODEL", "TRIAGE_MODEL_DIR"):
            if name in os.environ:
                env[name] = os.environ[name]
        self.env = env
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        import httpx

        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "triage_cli.main", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise SystemExit("server did not become ready in 300 s")

    def __exit__(self, *_exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


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

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - t0
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
            url, drop = fresh_postgres(args.postgres_url)
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
