"""Run the Alembic migrations programmatically (at start-up and in tests).

Two server processes may start at once against one database: on PostgreSQL the upgrade holds an
advisory lock, on SQLite a file lock next to the database, so only one runs it at a time.
"""

from __future__ import annotations

import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from api.db.session import Database

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
_PG_LOCK_ID = 0x7472_6961  # "tria"

log = logging.getLogger(__name__)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    return cfg


@contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def startup_lock(db: Database):
    """Serialises start-up work (migrations, the first admin key) across server processes."""
    if db.dialect == "sqlite":
        with _file_lock(Path(db.engine.url.database).with_suffix(".startup.lock")):
            yield
        return
    with db.engine.connect() as conn, _no_timeouts(conn):
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _PG_LOCK_ID})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _PG_LOCK_ID})
            conn.commit()


@contextmanager
def _no_timeouts(conn):
    """Start-up work may wait for another process's start-up (the advisory lock) and a migration
    may run long: the sessions' lock and statement timeouts (api/db/session.py) are lifted on this
    connection and restored (RESET: the connection's own setting) before it goes back to the pool."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.execute(text("SET lock_timeout = 0"))
    conn.execute(text("SET statement_timeout = 0"))
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.execute(text("RESET lock_timeout"))
        conn.execute(text("RESET statement_timeout"))
        conn.commit()


def upgrade(db: Database, revision: str = "head") -> None:
    """Upgrade the schema (call inside startup_lock when other processes may start too)."""
    cfg = alembic_config()
    with db.engine.connect() as conn, _no_timeouts(conn):
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_migrated(url: str) -> Database:
    """A Database for a command-line tool, its schema brought up to date first (as `triage serve`
    does at start-up)."""
    db = Database(url, pool_size=1)
    try:
        with startup_lock(db):
            upgrade(db)
    except BaseException:
        db.dispose()
        raise
    return db
