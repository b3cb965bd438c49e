"""kill -9 under load loses no acknowledged audit record: a real `triage serve` on SQLite and on
PostgreSQL answers concurrent POST /v1/triage, is killed (SIGKILL) mid-load, and is started again
on the same data directory and database; every X-Audit-Record-Key that was answered must then be
in `audit_records`, exactly once. (benchmarks/kill_durability.py does ten such runs and prints
the counts.)"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from service.helpers import auth, server_env, stored_triage_keys

Q = auth("queue")
TEXTS = ["mijn vader slaat mij, ik ben 12", "mijn buurman schreeuwt elke avond tegen zijn vrouw",
         "ik heb een vraag over een melding", "mijn vriend dreigt mij iets aan te doen als ik wegga"]


def _load_then_kill(server, seconds: float, clients: int = 8) -> list[str]:
    """POST /v1/triage from `clients` threads; SIGKILL after `seconds`. The acknowledged keys."""
    acked: list[str] = []
    stop = threading.Event()

    def worker(k: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10, headers=Q) as http:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = http.post("/v1/triage", json={"text": f"{TEXTS[(k + i) % 4]} ({k}.{i})"})
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    acked.append(r.headers["x-audit-record-key"])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)  # under way (the first answers of a cold server are slow)
    time.sleep(seconds)
    server.kill()
    stop.set()
    for t in threads:
        t.join(15)
    return acked


@pytest.mark.slow
def test_kill_9_under_load_loses_no_acknowledged_record(servers, tmp_path, db_url):
    # Predictions in the server process: a faster start; the outbox does not depend on where
    # predictions run (benchmarks/kill_durability.py runs the production default).
    env = server_env(tmp_path / "data", db_url, TRIAGE_MODEL_PROCESSES="0")
    server = servers(env, "kill")
    acked = _load_then_kill(server, 0.5)
    server.start()  # same port, data directory and database: the outbox is replayed
    assert len(acked) >= 20
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stored = stored_triage_keys(db_url)
        if set(acked) <= set(stored):
            break
        time.sleep(0.2)
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged audit records lost"
    assert len(stored) == len(set(stored))  # a replay never duplicates
