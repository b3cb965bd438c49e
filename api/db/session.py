"""The engines and sessions: writes never make reads wait.

* Reads and writes use two connection pools, so a reader never waits for a connection that a
  writer holds (40 writers queued on SQLite's write lock used to empty the one pool, and
  GET /v1/queue waited 35 s for a connection).
* SQLite runs in WAL mode: readers read a snapshot and never wait for the writer. There is one
  writer at a time; in this process writers queue on a lock *before* taking a connection (in
  arrival order, without holding a pooled connection or polling the database file), and write
  transactions take SQLite's write lock up front (BEGIN IMMEDIATE). `busy_timeout` bounds the wait
  for a writer in another process (a second server, `triage purge`).
* PostgreSQL: every session has a `lock_timeout` (a write waiting on a row lock fails instead of
  queueing for ever) and a `statement_timeout` (no runaway statement holds locks or a connection).
Transactions hold no model work: predictions and redaction run before a write begins
(api/chats.py), so a write transaction lasts a few milliseconds."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000    # TRIAGE_DB_BUSY_TIMEOUT_MS
PG_LOCK_TIMEOUT_MS = 5_000         # TRIAGE_DB_LOCK_TIMEOUT_MS
PG_STATEMENT_TIMEOUT_MS = 30_000   # TRIAGE_DB_STATEMENT_TIMEOUT_MS


class DatabaseConfigError(ValueError):
    """TRIAGE_DATABASE_URL is not usable."""


def create_db_engine(url: str, pool_size: int = 10, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
                     lock_timeout_ms: int = PG_LOCK_TIMEOUT_MS,
                     statement_timeout_ms: int = PG_STATEMENT_TIMEOUT_MS) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy raises ArgumentError and ValueError
        raise DatabaseConfigError(f"TRIAGE_DATABASE_URL is not a valid database URL ({type(exc).__name__})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            raise DatabaseConfigError("an in-memory SQLite database cannot be shared; give a file path")
        path = Path(database)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # The database holds client text: private to the service's user. SQLite gives its
            # -wal and -shm files the mode of the database file.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        engine = create_engine(
            parsed, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise DatabaseConfigError("PostgreSQL URLs must use the psycopg 3 driver: postgresql+psycopg://...")
        # Server-side settings of every session (0 turns a timeout off, as in PostgreSQL).
        options = f"-c lock_timeout={int(lock_timeout_ms)} -c statement_timeout={int(statement_timeout_ms)}"
        return create_engine(parsed, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size,
                             pool_pre_ping=True, pool_recycle=1800, connect_args={"options": options})
    raise DatabaseConfigError(f"unsupported database '{backend}': use sqlite:/// or postgresql+psycopg://")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a process kill
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engines and transactions for the service: `read()` and `write()` each yield a Session in
    one transaction, committed on success and rolled back on error. `engine` serves writes (and
    migrations), `read_engine` reads; each has its own pool of `pool_size` (+ as many overflow)."""

    def __init__(self, url: str, pool_size: int = 10, **timeouts: int):
        self.url = url
        self.engine = create_db_engine(url, pool_size, **timeouts)
        self.dialect = self.engine.dialect.name
        self.read_engine = create_db_engine(url, pool_size, **timeouts)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)
        # SQLite has one writer at a time: queue here rather than on the database file.
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self._write() as session:
                yield session
            return
        with self._write_lock, self._write() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._sessions() as session:
            if self.dialect == "sqlite":
                session.connection(execution_options={"sqlite_immediate": True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only Core connection whose queries all see one state of the database: REPEATABLE
        READ on PostgreSQL; on SQLite (WAL) a transaction reads from one snapshot already."""
        options = {"isolation_level": "REPEATABLE READ"} if self.dialect == "postgresql" else {}
        with self.read_engine.connect().execution_options(**options) as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def ping(self) -> bool:
        try:
            with self.read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness only reports
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
