"""The write-behind of POST /v1/triage's audit records (api/audit_writer.py): every answer gets its
record exactly once, also under concurrent requests; failed writes are retried; a backlog that
cannot be written refuses predictions (503) instead of serving them unaudited; shutdown writes
what is still queued. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from service.helpers import audit_record_id, auth

Q, R = auth("queue"), auth("reviewer")
TEXTS = ["mijn vader slaat mij, ik ben 12", "mijn buurman schreeuwt elke avond tegen zijn vrouw",
         "ik heb een vraag over een melding", "hoi"]


def _count(db_url: str, where: str = "source = 'triage'") -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM audit_records WHERE {where}")).scalar_one()
    finally:
        engine.dispose()


def test_every_answer_gets_its_record_once_under_concurrency(make_client, db_url):
    client = make_client(db_url)

    def send(i: int):
        r = client.post("/v1/triage", json={"text": f"{TEXTS[i % len(TEXTS)]} ({i})"}, headers=Q)
        assert r.status_code == 200, r.text
        return r

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(48)))
    keys = [r.headers["x-audit-record-key"] for r in answers]
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys) and len(set(keys)) == 48
    ids = {audit_record_id(client, r) for r in answers}
    assert len(ids) == 48
    assert _count(db_url) == 48
    record = client.get(f"/v1/audit/predictions/{max(ids)}", headers=R).json()
    assert record["source"] == "triage" and record["request_key"] in keys
    assert client.get("/v1/audit/predictions", params={"request_key": "nothex"}, headers=R).status_code == 422


def test_failed_writes_are_retried(make_client, db_url, monkeypatch):
    client = make_client(db_url)
    writer = client.app.state.runtime.audit_writer
    real, calls = writer.store.add_many, []

    def flaky(rows):
        calls.append(len(rows))
        if len(calls) <= 2:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        real(rows)

    monkeypatch.setattr(writer.store, "add_many", flaky)
    monkeypatch.setattr("api.audit_writer.time.sleep", lambda s: None)  # no back-off waits in the test
    r = client.post("/v1/triage", json={"text": TEXTS[0]}, headers=Q)
    assert r.status_code == 200
    assert writer.flush(10)
    assert len(calls) == 3 and writer.failed_batches == 2
    assert audit_record_id(client, r)


def test_backlog_that_cannot_be_written_refuses_predictions(make_client, sqlite_url, monkeypatch):
    from api.audit_writer import AuditWriter

    client = make_client(sqlite_url)
    runtime = client.app.state.runtime
    release = threading.Event()
    real = runtime.service.audit.add_many

    def stuck(rows):  # the database hangs until released
        release.wait(30)
        real(rows)

    monkeypatch.setattr(runtime.service.audit, "add_many", stuck)
    runtime.audit_writer.close()
    runtime.audit_writer = AuditWriter(runtime.service.audit, max_pending=2, max_batch=1, submit_timeout=0.2)
    codes = [client.post("/v1/triage", json={"text": TEXTS[0]}, headers=Q).status_code]
    deadline = time.monotonic() + 10
    while runtime.audit_writer._queue.qsize() and time.monotonic() < deadline:
        time.sleep(0.01)  # the writer took the first record (and hangs on it)
    codes += [client.post("/v1/triage", json={"text": t}, headers=Q).status_code for t in TEXTS[1:]]
    # one record is being written (stuck), two wait; the fourth answer would go unaudited
    assert codes == [200, 200, 200, 503]
    r = client.post("/v1/triage", json={"text": "nog een"}, headers=Q)
    assert r.status_code == 503 and r.json()["code"] == "audit_unavailable" and "retry-after" in r.headers
    release.set()
    assert runtime.audit_writer.flush(10)
    assert _count(sqlite_url) == 3
    assert client.post("/v1/triage", json={"text": "weer open"}, headers=Q).status_code == 200


def test_shutdown_writes_what_is_queued(make_client, sqlite_url, monkeypatch):
    client = make_client(sqlite_url)
    writer = client.app.state.runtime.audit_writer
    gate = threading.Event()
    real = writer.store.add_many
    monkeypatch.setattr(writer.store, "add_many", lambda rows: (gate.wait(5), real(rows)))
    for t in TEXTS:
        assert client.post("/v1/triage", json={"text": t}, headers=Q).status_code == 200
    assert writer.pending == len(TEXTS)
    threading.Timer(0.3, gate.set).start()
    client.__exit__(None, None, None)  # the app's shutdown: Runtime.stop() closes the writer
    assert writer.pending == 0
    assert _count(sqlite_url) == len(TEXTS)
