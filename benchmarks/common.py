"""What the benchmark scripts share: the corpus, percentiles, a `triage serve` subprocess, a fresh
database, and the rounds-and-medians report of the in-process benchmarks.

Scripts import it as `benchmarks.common` after putting the repository root on sys.path.
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUEUE_KEY = "bench-queue-key-" + "q" * 24
ADVISOR_KEY = "bench-advisor-key-" + "a" * 24
# Settings the caller's environment may give a benchmarked server (which model, where it is).
PASSTHROUGH = ("TRIAGE_SPACY_MODEL", "TRIAGE_MODEL_DIR")


def corpus_texts(limit: int, max_chars: int | None = None, seed: int = 7) -> list[str]:
    """Non-empty seed-corpus texts of at most max_chars (default: the service's limit), shuffled
    with `seed` so that every run sends the same texts, the first `limit` of them."""
    from triage.labels import MAX_TEXT_CHARS

    max_chars = MAX_TEXT_CHARS if max_chars is None else max_chars
    texts = []
    for path in sorted((ROOT / "training" / "data" / "seed").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line)["text"]
                if text.strip() and len(text) <= max_chars:
                    texts.append(text)
    random.Random(seed).shuffle(texts)
    return texts[:limit]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; nan when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(passthrough: tuple[str, ...] = PASSTHROUGH, **values: str) -> dict[str, str]:
    """This process's environment without its TRIAGE_* settings (a developer's own must not leak
    into the benchmark), then `values`, warning-level logs, and the `passthrough` names it has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(TRIAGE_LOG_LEVEL="warning")
    env.update(values)
    for name in passthrough:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def start_server(env: dict, port: int, log_path: Path, append: bool = False, timeout: float = 120,
                 poll: float = 0.2) -> subprocess.Popen:
    """`triage serve` on 127.0.0.1:port, its output in log_path; returns once /readyz answers 200."""
    import httpx

    with open(log_path, "ab" if append else "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "triage_cli.main", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(poll)
    proc.kill()
    proc.wait(timeout=10)
    raise SystemExit(f"server did not become ready in {timeout:g} s")


def stop_server(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, and SIGKILL when it has not stopped after `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def run_clients(client: Callable[[int], None], clients: int, timeout: float = 600) -> float:
    """client(0) .. client(clients - 1), each in its own thread, at once; the wall-clock seconds
    until all have returned (each gets at most `timeout` to do so)."""
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return time.perf_counter() - start


def fresh_database(url: str, prefix: str = "triage_bench") -> tuple[str, Callable[[], None]]:
    """SQLite: the URL as given, and nothing to drop. PostgreSQL: a new database in the URL's
    cluster, and the function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    if base.get_backend_name() != "postgresql":
        return url, lambda: None
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", hide_parameters=True, pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def timed_ms(call) -> float:
    """Milliseconds one request takes; it must succeed (200 or 201)."""
    start = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code in (200, 201), response.text
    return elapsed


def index_pct(values: list[float], fraction: float) -> float:
    """The percentile the in-process benchmarks report: the value at index fraction * (n - 1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report_rounds(rounds: int, database_url: str | None, one_round: Callable[[str, Path], dict[str, list[float]]],
                  of: str, width: int) -> None:
    """Runs one_round(url, data_dir) `rounds` times, each on a fresh database (SQLite in a temporary
    directory, or a new PostgreSQL database next to database_url), printing each round's p50 / p99
    per figure (milliseconds) and then the medians over rounds."""
    results = []
    for n in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            url, drop = fresh_database(database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", "triage_test")
            try:
                figures = one_round(url, Path(tmp))
            finally:
                drop()
        results.append(figures)
        print(f"round {n + 1}: " + "; ".join(f"{k} p50 {index_pct(v, .5):.2f} / p99 {index_pct(v, .99):.2f} ms"
                                             for k, v in figures.items()), flush=True)
    print(f"medians over {rounds} rounds of {of} ({'PostgreSQL' if database_url else 'SQLite'}):")
    for key in results[0]:
        p50 = statistics.median(index_pct(r[key], .5) for r in results)
        p99 = statistics.median(index_pct(r[key], .99) for r in results)
        print(f"  {key:<{width}} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")


def in_process_main(description: str, one_round, chats: int, width: int, rounds: int = 5) -> int:
    """The command line of an in-process benchmark ([--rounds] [--chats] [--database-url]): loads the
    model and the guidance cards once, then report_rounds() over one_round(model, cards, url, chats,
    data_dir); `width` aligns the figures' names in the medians."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--chats", type=int, default=chats)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL (default: SQLite per round)")
    args = parser.parse_args()

    from triage.guidance import load_cards
    from triage.model import TriageModel

    model, cards = TriageModel.load(), load_cards()
    report_rounds(args.rounds, args.database_url,
                  lambda url, data_dir: one_round(model, cards, url, args.chats, data_dir),
                  of=str(args.chats), width=width)
    return 0
