"""Writes never make reads wait (issue 13, item 3), on SQLite and PostgreSQL.

A long write transaction holds the database's write lock (SQLite) or a row lock (PostgreSQL)
while more writers queue behind it; a read (a session read, the queue's snapshot, GET /v1/queue)
must still answer at once. Before reads had their own connection pool, the queued writers held
every pooled connection and the reader waited for one until the long writer finished."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.helpers import auth

HOLD_SECONDS = 3.0
READ_LIMIT_SECONDS = 1.0


def _database(url: str, **timeouts):
    from api.db import migrate
    from api.db.session import Database

    db = Database(url, pool_size=1, **timeouts)
    migrate.upgrade(db)
    with db.write() as session:
        session.execute(text("INSERT INTO api_keys (role, key_hash, label, created_at) "
                             "VALUES ('queue', 'aa', 'storm', CURRENT_TIMESTAMP)"))
    return db


def _touch(session) -> None:
    """A write on the one shared row: on PostgreSQL the writers queue on its row lock."""
    session.execute(text("UPDATE api_keys SET label = label || 'x' WHERE key_hash = 'aa'"))


@contextmanager
def long_writer_and_queue(db, queued: int = 2):
    """One write transaction held open for HOLD_SECONDS, `queued` more writers waiting behind it."""
    holding = threading.Event()
    errors: list[BaseException] = []

    def long_writer():
        try:
            with db.write() as session:
                _touch(session)
                holding.set()
                time.sleep(HOLD_SECONDS)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            holding.set()

    def writer():
        try:
            with db.write() as session:
                _touch(session)
        except OperationalError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=long_writer)]
    threads[0].start()
    assert holding.wait(10)
    threads += [threading.Thread(target=writer) for _ in range(queued)]
    for t in threads[1:]:
        t.start()
    time.sleep(0.3)  # the writers are queued now
    try:
        yield errors
    finally:
        for t in threads:
            t.join(timeout=30)


def test_reads_do_not_wait_for_writers(db_url):
    db = _database(db_url)
    try:
        with long_writer_and_queue(db) as errors:
            t0 = time.perf_counter()
            with db.read() as session:
                assert session.execute(text("SELECT count(*) FROM api_keys")).scalar_one() == 1
            with db.snapshot() as conn:
                conn.execute(text("SELECT count(*) FROM chats")).scalar_one()
            waited = time.perf_counter() - t0
            assert db.ping()
        assert waited < READ_LIMIT_SECONDS, f"the read waited {waited:.2f} s for the writers"
        assert not errors, errors
        with db.read() as session:  # every queued writer wrote, after the long one
            assert session.execute(text("SELECT label FROM api_keys")).scalar_one() == "storm" + "x" * 3
    finally:
        db.dispose()


def test_queue_read_while_chat_writes_wait(make_client, db_url):
    """GET /v1/queue over HTTP answers at once while a long write holds the database and chat
    writes wait behind it (one connection per pool, as on a server whose pool the writers took)."""
    client = make_client(db_url, db_pool_size=1)
    assert client.post("/v1/chats", json={"chat_id": "first", "text": "mijn vader slaat mij"},
                       headers=auth("queue")).status_code == 201
    db = client.app.state.runtime.db
    results = []

    def create(n):
        results.append(client.post("/v1/chats", json={"chat_id": f"storm-{n}", "text": "hij slaat mij"},
                                   headers=auth("queue")).status_code)

    with long_writer_and_queue(db, queued=0):
        writers = [threading.Thread(target=create, args=(n,)) for n in range(3)]
        for t in writers:
            t.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        r = client.get("/v1/queue", headers=auth("advisor"))
        waited = time.perf_counter() - t0
        assert r.status_code == 200
        assert "first" in [item["chat_id"] for item in r.json()["items"]]
        assert waited < READ_LIMIT_SECONDS, f"GET /v1/queue waited {waited:.2f} s for the writers"
        if db.dialect == "sqlite":
            assert results == []  # the writers were still waiting for SQLite's write lock
    for t in writers:
        t.join(timeout=30)
    assert results == [201, 201, 201]


def test_postgres_lock_timeout_ends_a_blocked_write(postgres_url):
    """On PostgreSQL a write waiting on a row lock fails after TRIAGE_DB_LOCK_TIMEOUT_MS instead
    of waiting as long as the lock is held; statement_timeout is set on every session."""
    db = _database(postgres_url, lock_timeout_ms=500, statement_timeout_ms=20_000)
    try:
        with db.read() as session:
            assert session.execute(text("SHOW lock_timeout")).scalar_one() == "500ms"
            assert session.execute(text("SHOW statement_timeout")).scalar_one() == "20s"
        with long_writer_and_queue(db, queued=1) as errors:
            time.sleep(1.0)
            assert len(errors) == 1 and "lock timeout" in str(errors[0].orig).lower(), errors
    finally:
        db.dispose()


def test_postgres_start_up_waits_for_another_start_up_beyond_the_lock_timeout(postgres_url):
    """Two processes starting at once: the second waits for the first's advisory lock longer than
    TRIAGE_DB_LOCK_TIMEOUT_MS (start-up work lifts the timeouts on its own connection only)."""
    from api.db import migrate

    from api.db.session import Database

    first, second = Database(postgres_url, lock_timeout_ms=200), Database(postgres_url, lock_timeout_ms=200)
    waited = []
    try:
        with migrate.startup_lock(first):
            thread = threading.Thread(target=lambda: waited.append(_timed_start_up(second)))
            thread.start()
            time.sleep(1.0)
        thread.join(timeout=30)
        assert waited and waited[0] >= 0.9
        with second.engine.connect() as conn:  # the pooled connection has its timeouts back
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "200ms"
    finally:
        first.dispose()
        second.dispose()


def _timed_start_up(db) -> float:
    from api.db import migrate

    t0 = time.perf_counter()
    with migrate.startup_lock(db):
        migrate.upgrade(db)
    return time.perf_counter() - t0
