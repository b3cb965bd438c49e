"""The audit records of POST /v1/triage (api/audit/writer.py, api/audit/outbox.py): durable in the
local outbox before the answer, then in the database exactly once, also under concurrency, across
retries and replays; a database outage neither freezes the service nor loses records; when a
record cannot be made durable the answer is 503 audit_unavailable at once. On SQLite and
PostgreSQL. (The kill -9 runs with a real server are in test_audit_durability.py.)"""

from __future__ import annotations

import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from service.helpers import audit_record_id, auth, stored_triage_keys, unique_text

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


def _outbox(client) -> Path:
    return client.app.state.runtime.audit_writer.outbox.directory


def _timed(call):
    t0 = time.perf_counter()
    r = call()
    return r, time.perf_counter() - t0


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class Outage:
    """The database stops taking writes. SQLite: another connection holds the write lock (as a
    hung writer of another process would). PostgreSQL: the database refuses connections and its
    sessions are ended (the cluster, shared with other tests, stays up)."""

    def __init__(self, db_url: str):
        self.url = make_url(db_url)
        self.conn = None
        self.admin = None

    def start(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            self.engine = create_engine(self.url, connect_args={"timeout": 0.1})
            self.conn = self.engine.connect()
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.url.database}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                              "AND pid <> pg_backend_pid()"), {"d": self.url.database})

    def end(self) -> None:
        if self.conn is not None:
            self.conn.exec_driver_sql("ROLLBACK")
            self.conn.close()
            self.engine.dispose()
            self.conn = None
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{self.url.database}" ALLOW_CONNECTIONS true'))
            self.admin.dispose()
            self.admin = None


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


def test_the_record_is_in_the_outbox_redacted_before_the_answer(make_client, sqlite_url, monkeypatch):
    client = make_client(sqlite_url)
    writer = client.app.state.runtime.audit_writer
    monkeypatch.setattr(writer, "_insert", lambda rows: (_ for _ in ()).throw(OperationalError("INSERT", {}, None)))
    text_ = unique_text() + ", bel me op 0612345678"
    r = client.post("/v1/triage", json={"text": text_}, headers=Q)
    assert r.status_code == 200
    on_disk = b"".join(p.read_bytes() for p in _outbox(client).glob("*.jsonl"))
    assert r.headers["x-audit-record-key"].encode() in on_disk  # durable before the answer came back
    name = text_.split()[2].encode()
    assert name not in on_disk and b"0612345678" not in on_disk and b"[NAAM]" in on_disk
    assert oct(_outbox(client).stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in _outbox(client).iterdir())


def test_failed_database_writes_are_retried(make_client, db_url, monkeypatch):
    client = make_client(db_url)
    writer = client.app.state.runtime.audit_writer
    real, calls = writer._insert, []

    def flaky(rows):
        calls.append(len(rows))
        if len(calls) <= 2:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        real(rows)

    monkeypatch.setattr(writer, "_insert", flaky)
    r = client.post("/v1/triage", json={"text": TEXTS[0]}, headers=Q)
    assert r.status_code == 200
    assert writer.flush(10)
    assert len(calls) == 3 and writer.failed_batches == 2
    assert audit_record_id(client, r)


def test_a_database_outage_does_not_freeze_the_service_nor_lose_records(make_client, db_url):
    """While the database takes no writes the outbox keeps answering; when it is full (here a few
    KB) POST /v1/triage answers 503 audit_unavailable at once, /healthz stays fast and /readyz
    says why. Afterwards every acknowledged record reaches the database, once."""
    client = make_client(db_url, audit_outbox_max_mb=0.01)  # ~10 KB: a few records
    outage = Outage(db_url)
    outage.start()
    try:
        acked, refused, refusals, health = [], 0, [], []
        for i in range(40):
            r, took = _timed(lambda: client.post("/v1/triage", json={"text": f"{TEXTS[i % 4]} ({i})"}, headers=Q))
            if r.status_code == 200:
                assert not refused, "answered after the outbox was full"
                acked.append(r.headers["x-audit-record-key"])
            else:
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "audit_unavailable" and "full" in r.json()["detail"]
                assert int(r.headers["retry-after"]) > 0  # seconds, as a client can act on it
                refused += 1
                refusals.append(took)
            h, took = _timed(lambda: client.get("/healthz"))
            assert h.status_code == 200
            health.append(took)
        assert acked and refused
        # Nothing waits for the database (its write lock is held for good; the old write-behind
        # made each request wait 5 s once its queue was full). The bounds leave room for the
        # CPU load of a shared test machine.
        assert statistics.median(refusals) < 0.05 and max(refusals) < 0.5, refusals
        assert statistics.median(health) < 0.05 and max(health) < 0.5, health
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "outbox is full" in ready.json()["checks"]["audit"]
    finally:
        outage.end()
    writer = client.app.state.runtime.audit_writer
    assert writer.flush(30)
    assert sorted(stored_triage_keys(db_url)) == sorted(acked)
    assert client.post("/v1/triage", json={"text": "weer open"}, headers=Q).status_code == 200
    assert client.get("/readyz").json()["checks"]["audit"] == "ok"


def test_an_outbox_that_cannot_be_written_refuses_at_once(make_client, sqlite_url, monkeypatch):
    client = make_client(sqlite_url)
    assert client.post("/v1/triage", json={"text": TEXTS[0]}, headers=Q).status_code == 200

    def broken(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("api.audit.writer.os.fdatasync", broken)
    r = client.post("/v1/triage", json={"text": TEXTS[1]}, headers=Q)
    assert r.status_code == 503 and r.json()["code"] == "audit_unavailable"
    r, took = _timed(lambda: client.post("/v1/triage", json={"text": TEXTS[2]}, headers=Q))
    assert r.status_code == 503 and took < 0.1  # refused without waiting for the disk again
    assert "cannot be written" in client.get("/readyz").json()["checks"]["audit"]
    monkeypatch.undo()
    time.sleep(1.1)  # a request after a second tries the disk again
    r = client.post("/v1/triage", json={"text": TEXTS[3]}, headers=Q)
    assert r.status_code == 200
    assert client.app.state.runtime.audit_writer.flush(10)
    assert _count(sqlite_url) == 2  # the refused predictions left no record


def test_shutdown_drains_and_what_the_database_refused_is_replayed_at_the_next_start(make_client, db_url):
    client = make_client(db_url)
    for t in TEXTS[:2]:
        assert client.post("/v1/triage", json={"text": t}, headers=Q).status_code == 200
    client.__exit__(None, None, None)  # the app's shutdown: the outbox is drained and emptied
    assert _count(db_url) == 2 and not list(_outbox(client).iterdir())

    client = make_client(db_url)
    client.app.state.runtime.audit_writer.drain_on_close = 0.5
    outage = Outage(db_url)
    outage.start()
    try:
        answers = [client.post("/v1/triage", json={"text": t}, headers=Q) for t in TEXTS]
        assert [r.status_code for r in answers] == [200] * 4
        client.__exit__(None, None, None)  # the database is down: the records stay in the outbox
    finally:
        outage.end()
    assert _count(db_url) == 2 and list(_outbox(client).glob("*.jsonl"))
    client = make_client(db_url)  # the next start replays them
    assert client.app.state.runtime.audit_writer.flush(20)
    assert _count(db_url) == 6
    assert {r.headers["x-audit-record-key"] for r in answers} <= set(stored_triage_keys(db_url))
    _wait_for(lambda: not list(_outbox(client).glob("*.jsonl")))  # the replayed segment is deleted


def test_a_replay_never_duplicates_and_skips_torn_lines(make_client, db_url, tmp_path):
    """The outbox segments of a process that died are replayed by the next one, also when some of
    their records are in the database already; a line torn by the crash is skipped."""
    client = make_client(db_url)
    answers = [client.post("/v1/triage", json={"text": t}, headers=Q) for t in TEXTS[:3]]
    writer = client.app.state.runtime.audit_writer
    assert writer.flush(10)
    # A dead process's segment: the same three records (already in the database), one new
    # record, and a torn last line.
    from api.audit.outbox import encode

    store = writer.store
    triager = client.app.state.runtime.triager
    rows = [store.build(t, triager.predict(t), [], source="triage", request_key=f"{i:032x}")
            for i, t in enumerate(TEXTS)]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        existing = conn.execute(text("SELECT request_key FROM audit_records ORDER BY id")).scalars().all()
    engine.dispose()
    for row, key in zip(rows, existing):
        row["request_key"] = key
    dead = "ab" * 16
    segment = _outbox(client) / f"{dead}-00000001.jsonl"
    data = b"".join(encode(r) for r in rows)
    segment.write_bytes(data + encode(rows[0])[:40])
    (_outbox(client) / f"{dead}.lock").touch()
    writer._adopt()
    assert writer.flush(10)
    keys = stored_triage_keys(db_url)
    assert len(keys) == 4 and len(set(keys)) == 4 and f"{3:032x}" in keys
    assert {r.headers["x-audit-record-key"] for r in answers} <= set(keys)
    _wait_for(lambda: not segment.exists() and not (_outbox(client) / f"{dead}.lock").exists())


def test_an_outbox_line_of_an_older_server_is_replayed_with_its_labels(make_client, db_url):
    """A segment written before the labels were rows (migration 0007: one column per head, no
    "labels") is replayed after the upgrade: its labels and scores become rows, read from the
    stored prediction. A key twice in one batch gets its rows once."""
    from api.audit.outbox import encode

    client = make_client(db_url)
    writer = client.app.state.runtime.audit_writer
    triager = client.app.state.runtime.triager
    prediction = triager.predict(TEXTS[0])
    old = writer.store.build(TEXTS[0], prediction, [], source="triage", request_key="cd" * 16)
    del old["labels"]
    scores = prediction["scores"]
    old.update(role=prediction["role"], minor=prediction["minor"], urgency=prediction["urgency"],
               topics=prediction["topics"], role_score=max(scores["role"].values()),
               urgency_score=max(scores["urgency"].values()))
    dead = "ef" * 16
    (_outbox(client) / f"{dead}-00000001.jsonl").write_bytes(encode(old) + encode(old))
    (_outbox(client) / f"{dead}.lock").touch()
    writer._adopt()
    assert writer.flush(10)
    page = client.get("/v1/audit/predictions", params={"request_key": "cd" * 16}, headers=R).json()
    assert page["total"] == 1
    item = page["items"][0]
    assert {k: item[k] for k in ("role", "minor", "urgency", "topics")} == {
        k: prediction[k] for k in ("role", "minor", "urgency", "topics")}
    assert item["top_scores"] == {"role": old["role_score"], "urgency": old["urgency_score"]}
    filtered = client.get("/v1/audit/predictions", params={"request_key": "cd" * 16, "role": prediction["role"],
                                                           "minor": str(prediction["minor"]).lower()}, headers=R)
    assert filtered.json()["total"] == 1


def test_the_outbox_of_a_live_process_is_not_replayed_by_another(make_client, sqlite_url):
    """Two server processes sharing a data directory: neither replays the other's live outbox."""
    a = make_client(sqlite_url)
    b = make_client(sqlite_url)
    wa, wb = a.app.state.runtime.audit_writer, b.app.state.runtime.audit_writer
    assert wa.outbox.directory == wb.outbox.directory
    assert a.post("/v1/triage", json={"text": TEXTS[0]}, headers=Q).status_code == 200
    assert wb.outbox.adopt_orphans() == []
    assert wa.flush(10) and _count(sqlite_url) == 1


def test_a_hanging_database_stalls_neither_authentication_nor_readiness(make_client, sqlite_url, monkeypatch):
    """The key cache is re-read in a thread (awaited 0.1 s at most) and /readyz's ping has a time
    limit: a database that does not answer leaves the event loop free."""
    client = make_client(sqlite_url, key_cache_seconds=0)
    runtime = client.app.state.runtime
    monkeypatch.setattr(runtime.keys, "refresh", lambda: time.sleep(5))
    monkeypatch.setattr(runtime.db, "ping", lambda: time.sleep(5) or True)
    r, took = _timed(lambda: client.post("/v1/triage", json={"text": TEXTS[0]}, headers=Q))
    assert r.status_code == 200 and took < 1.5, took
    health = [_timed(lambda: client.get("/healthz"))[1] for _ in range(10)]
    assert statistics.median(health) < 0.05 and max(health) < 0.5, health
    ready, took = _timed(lambda: client.get("/readyz"))
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "no answer within 2 s"
    assert took < 3


def test_outbox_lines_carry_a_checksum(tmp_path):
    """A record line that was changed or torn is skipped on replay, never inserted half-read."""
    from datetime import datetime, timezone

    from api.audit.outbox import decode, encode, read_records

    values = {"created_at": datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc), "request_key": "ab" * 16,
              "redacted_text": "mijn vader [NAAM] slaat mij", "prediction": {"urgency": "acute"}}
    line = encode(values)
    assert decode(line) == values
    damaged = line.replace(b"acute", b"acutE")
    assert decode(damaged) is None
    path = tmp_path / "segment.jsonl"
    path.write_bytes(line + damaged + line + line[:30])
    records, end, lines, bad = read_records(path, 0, path.stat().st_size, 10, final=True)
    assert records == [values, values] and lines == 4 and bad == 2 and end == path.stat().st_size
    records, end, lines, bad = read_records(path, 0, path.stat().st_size, 10, final=False)
    assert lines == 3 and end == 3 * len(line)  # an unfinished last line of a live segment waits


def test_a_record_redacted_early_equals_one_redacted_in_the_journal(make_client, sqlite_url):
    """With model processes POST /v1/triage redacts while the prediction runs (redact_early): the
    record must be the same as when the journal redacts."""
    from triage.redact import redact

    client = make_client(sqlite_url)
    runtime = client.app.state.runtime
    text_ = unique_text() + " en belt 0612345678"
    prediction, guidance = runtime.triager.triage(text_)
    store, now = runtime.audit_writer.store, time.time()
    from datetime import datetime, timezone

    at = datetime.fromtimestamp(now, timezone.utc)
    plain = store.build(text_, prediction, guidance, source="triage", now=at, request_key="k")
    early = store.build(text_, prediction, guidance, source="triage", now=at, request_key="k",
                        redaction=redact(text_))
    assert early == plain and "[TELEFOON]" in plain["redacted_text"]
