"""Alembic environment. Migrations run programmatically (api/db/migrate.py) with a connection in
config.attributes["connection"]; `alembic -c api/alembic.ini upgrade head` works too and reads
TRIAGE_DATABASE_URL (through the service settings)."""

from __future__ import annotations

from alembic import context

from api.db.models import Base
import api.model_versions.models  # noqa: F401,E402 - its table is on the shared Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from api.db.session import create_db_engine
    from api.settings import ApiSettings

    url = config.get_main_option("sqlalchemy.url") or ApiSettings().resolved_database_url
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
