"""The engine and sessions. SQLite runs in WAL mode; write transactions take the write lock up
front (BEGIN IMMEDIATE) so concurrent writers queue on busy_timeout instead of failing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseConfigError(ValueError):
    """TRIAGE_DATABASE_URL is not usable."""


def create_db_engine(url: str, pool_size: int = 10) -> Engine:
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
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise DatabaseConfigError("PostgreSQL URLs must use the psycopg 3 driver: postgresql+psycopg://...")
        return create_engine(parsed, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size,
                             pool_pre_ping=True, pool_recycle=1800)
    raise DatabaseConfigError(f"unsupported database '{backend}': use sqlite:/// or postgresql+psycopg://")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a process kill
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engine and transactions for the service: `read()` and `write()` each yield a Session in
    one transaction, committed on success and rolled back on error."""

    def __init__(self, url: str, pool_size: int = 10):
        self.url = url
        self.engine = create_db_engine(url, pool_size)
        self.dialect = self.engine.dialect.name
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
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
        with self.engine.connect().execution_options(**options) as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness only reports
            return False

    def dispose(self) -> None:
        self.engine.dispose()
